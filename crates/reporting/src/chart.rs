//! Server-rendered SVG bar charts, written by hand: a few dozen lines of markup do what the
//! reports need without a plotting library and its font and image dependencies.

use std::fmt::Write;

use crate::table::ReportTable;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 70.0;
const COLOURS: &[&str] = &[
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// Escapes text for SVG content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A rounded-up axis maximum: 1, 2 or 5 times a power of ten.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= value)
        .unwrap_or(10.0 * power)
}

/// Draws `table` as grouped bars.
pub(crate) fn render(table: &ReportTable) -> String {
    let spec = &table.chart;
    let mut categories: Vec<String> = Vec::new();
    let mut series: Vec<String> = Vec::new();
    let mut points: Vec<(usize, usize, f64)> = Vec::new();
    if let Some(column) = spec.count_by {
        series.push("incidents".to_owned());
        for row in &table.rows {
            let value = row.get(column).map(|v| v.display()).unwrap_or_default();
            match categories.iter().position(|c| *c == value) {
                Some(i) => points[i].2 += 1.0,
                None => {
                    points.push((categories.len(), 0, 1.0));
                    categories.push(value);
                }
            }
        }
    }
    for row in table.rows.iter().filter(|_| spec.count_by.is_none()) {
        let x = row.get(spec.x).map(|v| v.display()).unwrap_or_default();
        let ci = match categories.iter().position(|c| *c == x) {
            Some(i) => i,
            None => {
                categories.push(x);
                categories.len() - 1
            }
        };
        for &column in &spec.series {
            let Some(value) = row.get(column).and_then(|v| v.number()) else {
                continue;
            };
            let mut name = table.columns[column].label.to_owned();
            if let Some(split) = spec.split.and_then(|s| row.get(s)) {
                name = if spec.series.len() == 1 {
                    split.display()
                } else {
                    format!("{} {name}", split.display())
                };
            }
            let si = match series.iter().position(|s| *s == name) {
                Some(i) => i,
                None => {
                    series.push(name);
                    series.len() - 1
                }
            };
            points.push((ci, si, value));
        }
    }
    let max = nice_ceiling(points.iter().map(|p| p.2).fold(0.0, f64::max));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11" role="img" aria-label="{title}"><title>{title}</title><rect width="100%" height="100%" fill="white"/><text x="{LEFT}" y="22" font-size="15" font-weight="bold">{title}</text>"#,
        title = escape(&table.title)
    );
    for step in 0..=4 {
        let value = max * f64::from(step) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(step) / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{lx:.1}" y="{ty:.1}" text-anchor="end">{label}</text>"##,
            x2 = LEFT + plot_w,
            lx = LEFT - 6.0,
            ty = y + 4.0,
            label = escape(&crate::table::Value::Decimal(value).display()),
        );
    }
    if categories.is_empty() || series.is_empty() {
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle">No data for these parameters</text>"#,
            x = LEFT + plot_w / 2.0,
            y = TOP + plot_h / 2.0
        );
    } else {
        let group_w = plot_w / categories.len() as f64;
        let bar_w = (group_w * 0.8 / series.len() as f64).max(0.5);
        for (ci, si, value) in &points {
            let h = plot_h * value / max;
            let x = LEFT + group_w * *ci as f64 + group_w * 0.1 + bar_w * *si as f64;
            let _ = write!(
                svg,
                r#"<rect x="{x:.2}" y="{y:.2}" width="{bar_w:.2}" height="{h:.2}" fill="{fill}"><title>{name} {category}: {v}</title></rect>"#,
                y = TOP + plot_h - h,
                fill = COLOURS[si % COLOURS.len()],
                name = escape(&series[*si]),
                category = escape(&categories[*ci]),
                v = escape(&crate::table::Value::Decimal(*value).display()),
            );
        }
        // Label at most about twenty categories so the axis stays readable.
        let every = categories.len().div_ceil(20);
        for (ci, category) in categories.iter().enumerate().step_by(every.max(1)) {
            let x = LEFT + group_w * (ci as f64 + 0.5);
            let y = TOP + plot_h + 14.0;
            let _ = write!(
                svg,
                r#"<text x="{x:.1}" y="{y:.1}" text-anchor="end" transform="rotate(-35 {x:.1} {y:.1})">{}</text>"#,
                escape(category)
            );
        }
        for (si, name) in series.iter().enumerate() {
            let y = TOP + 14.0 * si as f64;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="10" height="10" fill="{fill}"/><text x="{tx:.1}" y="{ty:.1}">{}</text>"#,
                escape(name),
                x = WIDTH - RIGHT + 12.0,
                fill = COLOURS[si % COLOURS.len()],
                tx = WIDTH - RIGHT + 26.0,
                ty = y + 9.0,
            );
        }
    }
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="#333"/></svg>"##,
        y = TOP + plot_h,
        x2 = LEFT + plot_w
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_to_readable_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(0.93), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
