//! A report's result: named columns and rows of values, written out as CSV (RFC 4180: a header
//! row, CRLF line ends, quoting where needed, UTF-8) or drawn as an SVG chart.

use serde::Serialize;

use crate::catalogue::ReportName;
use crate::error::ReportError;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Text (dates are text, YYYY-MM-DD).
    Text,
    /// Whole numbers.
    Integer,
    /// Numbers with a fraction (shares 0 to 1, minutes).
    Decimal,
}

/// One column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Column {
    /// Its name in JSON and the CSV header.
    pub name: &'static str,
    /// Its heading for people.
    pub label: &'static str,
    /// What it holds.
    pub kind: ColumnKind,
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// Text.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A number with a fraction.
    Decimal(f64),
    /// Nothing to show (e.g. a share of zero incidents).
    Null,
}

impl Value {
    /// The cell as a number, for charts.
    pub fn number(&self) -> Option<f64> {
        match self {
            Self::Integer(i) => Some(*i as f64),
            Self::Decimal(d) => Some(*d),
            _ => None,
        }
    }

    /// The cell as text, as CSV and tables show it.
    pub fn display(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Integer(i) => i.to_string(),
            Self::Decimal(d) => {
                let rounded = format!("{d:.4}");
                rounded
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_owned()
            }
            Self::Null => String::new(),
        }
    }
}

/// How a report is drawn: one bar per row and numeric column in `series`, grouped by the `x`
/// column, with one series per value of the `split` column when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartSpec {
    /// The column along the horizontal axis.
    pub x: usize,
    /// The numeric columns drawn.
    pub series: Vec<usize>,
    /// A column whose values become separate series.
    pub split: Option<usize>,
    /// Instead of drawing `series`, count the rows per value of this column.
    pub count_by: Option<usize>,
}

/// A file a report can be written out as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// The table as CSV (RFC 4180, UTF-8, a header row).
    Csv,
    /// The chart as SVG.
    Svg,
    /// The chart as a PNG image.
    Png,
}

impl FileFormat {
    /// The format a file name extension (`csv`, `svg`, `png`) names.
    pub fn from_extension(extension: &str) -> Option<Self> {
        match extension {
            "csv" => Some(Self::Csv),
            "svg" => Some(Self::Svg),
            "png" => Some(Self::Png),
            _ => None,
        }
    }

    /// Its file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Svg => "svg",
            Self::Png => "png",
        }
    }

    /// Its media type, as `Content-Type` gives it.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8; header=present",
            Self::Svg => "image/svg+xml",
            Self::Png => "image/png",
        }
    }
}

/// A report written out as a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    /// Its format.
    pub format: FileFormat,
    /// A name to save it under, e.g. `backlog.csv`.
    pub file_name: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// A report's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportTable {
    /// Which report.
    pub name: ReportName,
    /// Its title.
    pub title: String,
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows, each with one value per column.
    pub rows: Vec<Vec<Value>>,
    /// How to draw it.
    pub chart: ChartSpec,
}

impl ReportTable {
    /// The report as CSV text with a header row.
    pub fn to_csv(&self) -> Result<String, ReportError> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        let csv_error = |e: csv::Error| ReportError::Csv(e.to_string());
        writer
            .write_record(self.columns.iter().map(|c| c.name))
            .map_err(csv_error)?;
        for row in &self.rows {
            writer
                .write_record(row.iter().map(Value::display))
                .map_err(csv_error)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| ReportError::Csv(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| ReportError::Csv(e.to_string()))
    }

    /// The report drawn as an SVG chart.
    pub fn to_svg(&self) -> String {
        crate::chart::render(self)
    }

    /// The same chart as a PNG image.
    pub fn to_png(&self) -> Result<Vec<u8>, ReportError> {
        crate::raster::png(&self.to_svg())
    }

    /// The report written out as a file in `format`, with its media type and a file name.
    pub fn to_file(&self, format: FileFormat) -> Result<ReportFile, ReportError> {
        let bytes = match format {
            FileFormat::Csv => self.to_csv()?.into_bytes(),
            FileFormat::Svg => self.to_svg().into_bytes(),
            FileFormat::Png => self.to_png()?,
        };
        Ok(ReportFile {
            format,
            file_name: format!("{}.{}", self.name, format.extension()),
            bytes,
        })
    }

    /// The value of column `name` in `row`.
    pub fn value(&self, row: usize, name: &str) -> Option<&Value> {
        let column = self.columns.iter().position(|c| c.name == name)?;
        self.rows.get(row)?.get(column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_ends_lines_with_crlf() {
        let table = ReportTable {
            name: ReportName::Volumes,
            title: "Volumes".into(),
            columns: vec![
                Column {
                    name: "value",
                    label: "Value",
                    kind: ColumnKind::Text,
                },
                Column {
                    name: "share",
                    label: "Share",
                    kind: ColumnKind::Decimal,
                },
            ],
            rows: vec![
                vec![Value::Text("Hubs, \"north\"".into()), Value::Decimal(0.5)],
                vec![Value::Text("Ünïcode".into()), Value::Null],
            ],
            chart: ChartSpec {
                x: 0,
                series: vec![1],
                split: None,
                count_by: None,
            },
        };
        assert_eq!(
            table.to_csv().unwrap(),
            "value,share\r\n\"Hubs, \"\"north\"\"\",0.5\r\nÜnïcode,\r\n"
        );
    }
}
