//! Charts drawn on the server as SVG, so they need no script and print as they show: vertical
//! bars and lines over days. Each chart is an image with a title and a description for
//! assistive technology (pages also give the numbers as a table); series differ by shape as
//! well as colour, and every colour has at least 3:1 contrast against the white background.

use std::fmt::Write;

const WIDTH: i64 = 520;
const HEIGHT: i64 = 260;
const LEFT: i64 = 44;
const RIGHT: i64 = 12;
const TOP: i64 = 16;
const BOTTOM: i64 = 44;

/// One bar.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    /// Its label under the axis.
    pub label: String,
    /// Its value.
    pub value: i64,
    /// Its fill colour.
    pub colour: &'static str,
}

/// One line of a line chart.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Its name, for the legend.
    pub name: &'static str,
    /// Its colour.
    pub colour: &'static str,
    /// Dashed, to tell it apart without colour.
    pub dashed: bool,
    /// One value per label.
    pub values: Vec<i64>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round step for the value axis and the axis's top, for values up to `max`.
fn scale(max: i64) -> (i64, i64) {
    let max = max.max(1);
    let mut step = 1;
    loop {
        for factor in [1, 2, 5] {
            let candidate = step * factor;
            if max <= candidate * 5 {
                let top = (max + candidate - 1) / candidate * candidate;
                return (candidate, top);
            }
        }
        step *= 10;
    }
}

fn plot_height() -> i64 {
    HEIGHT - TOP - BOTTOM
}

fn y_of(value: i64, top: i64) -> i64 {
    TOP + plot_height() - value * plot_height() / top.max(1)
}

/// The opening of a chart: the element, its title and description, the value axis with
/// gridlines.
fn frame(out: &mut String, id: &str, title: &str, description: &str, top: i64, step: i64) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\"><title id=\"{id}-title\">{}</title>\
         <desc id=\"{id}-desc\">{}</desc>",
        escape(title),
        escape(description)
    );
    let mut tick = 0;
    while tick <= top {
        let y = y_of(tick, top);
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#d5dbe1\" stroke-width=\"1\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{tick}</text>",
            WIDTH - RIGHT,
            LEFT - 6,
            y + 4
        );
        tick += step;
    }
    let base = TOP + plot_height();
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#1d2630\" stroke-width=\"2\"/>",
        WIDTH - RIGHT
    );
}

/// A vertical bar chart.
pub(crate) fn bars(id: &str, title: &str, description: &str, bars: &[Bar]) -> String {
    let (step, top) = scale(bars.iter().map(|b| b.value).max().unwrap_or(0));
    let mut out = String::new();
    frame(&mut out, id, title, description, top, step);
    let slots = i64::try_from(bars.len().max(1)).unwrap_or(1);
    let slot = (WIDTH - LEFT - RIGHT) / slots;
    let width = slot * 3 / 5;
    for (i, bar) in bars.iter().enumerate() {
        let i = i64::try_from(i).unwrap_or(0);
        let x = LEFT + i * slot + (slot - width) / 2;
        let y = y_of(bar.value, top);
        let base = TOP + plot_height();
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{}\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"700\">{}</text>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            base - y,
            bar.colour,
            x + width / 2,
            y - 4,
            bar.value,
            x + width / 2,
            base + 18,
            escape(&bar.label)
        );
    }
    out.push_str("</svg>");
    out
}

/// A line chart over `labels` (days), every `label_every`th label shown.
pub(crate) fn lines(
    id: &str,
    title: &str,
    description: &str,
    labels: &[String],
    series: &[Series],
    label_every: usize,
) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    let (step, top) = scale(max);
    let mut out = String::new();
    frame(&mut out, id, title, description, top, step);
    let points = i64::try_from(labels.len().max(2) - 1).unwrap_or(1);
    let x_of =
        |i: usize| LEFT + 8 + i64::try_from(i).unwrap_or(0) * (WIDTH - LEFT - RIGHT - 16) / points;
    let base = TOP + plot_height();
    for (i, label) in labels.iter().enumerate() {
        if i % label_every.max(1) == 0 {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x_of(i),
                base + 18,
                escape(label)
            );
        }
    }
    for (n, s) in series.iter().enumerate() {
        let path: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{},{}", x_of(i), y_of(*v, top)))
            .collect();
        let dash = if s.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\"{dash}/>",
            path.join(" "),
            s.colour
        );
        for (i, v) in s.values.iter().enumerate() {
            let (x, y) = (x_of(i), y_of(*v, top));
            if s.dashed {
                let _ = write!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"6\" height=\"6\" fill=\"{}\"/>",
                    x - 3,
                    y - 3,
                    s.colour
                );
            } else {
                let _ = write!(
                    out,
                    "<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{}\"/>",
                    s.colour
                );
            }
        }
        let legend_x = LEFT + 8 + i64::try_from(n).unwrap_or(0) * 170;
        let legend_y = HEIGHT - 8;
        let _ = write!(
            out,
            "<line x1=\"{legend_x}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2.5\"{dash}/>\
             <text x=\"{}\" y=\"{legend_y}\">{}</text>",
            legend_y - 4,
            legend_x + 28,
            legend_y - 4,
            s.colour,
            legend_x + 34,
            escape(s.name)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_axis_rounds_up_to_a_round_step() {
        assert_eq!(scale(0), (1, 1));
        assert_eq!(scale(4), (1, 4));
        assert_eq!(scale(7), (2, 8));
        assert_eq!(scale(23), (5, 25));
        assert_eq!(scale(480), (100, 500));
    }

    #[test]
    fn a_bar_chart_is_a_titled_image_with_one_bar_per_value() {
        let svg = bars(
            "open",
            "Open <by> priority",
            "P1 2",
            &[
                Bar {
                    label: "P1".into(),
                    value: 2,
                    colour: "#b3261e",
                },
                Bar {
                    label: "P2".into(),
                    value: 0,
                    colour: "#0b4f6c",
                },
            ],
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("role=\"img\" aria-labelledby=\"open-title open-desc\""));
        assert!(svg.contains("<title id=\"open-title\">Open &lt;by&gt; priority</title>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.ends_with("</svg>"));
    }
}
