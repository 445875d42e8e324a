//! Charts as PNG images: the SVG chart rasterised with `resvg`, its text set in DejaVu Sans,
//! which the binary carries so that a server without any fonts installed draws the same image.

use std::sync::{Arc, OnceLock};

use resvg::usvg::{self, fontdb};

use crate::error::ReportError;

/// Pixels per SVG unit: twice the chart's size, sharp enough for slides and printed packs.
const SCALE: f32 = 2.0;

/// The family every chart's `sans-serif` text is set in.
const FAMILY: &str = "DejaVu Sans";

/// The fonts, loaded once: parsing their tables on every request would cost more than drawing.
fn fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            for face in [dejavu::sans::regular(), dejavu::sans::bold()] {
                db.load_font_source(fontdb::Source::Binary(Arc::new(face)));
            }
            db.set_sans_serif_family(FAMILY);
            Arc::new(db)
        })
        .clone()
}

/// `svg` drawn as a PNG image at twice its size.
pub(crate) fn png(svg: &str) -> Result<Vec<u8>, ReportError> {
    let options = usvg::Options {
        font_family: FAMILY.to_owned(),
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    let image = |e: &dyn std::fmt::Display| ReportError::Image(e.to_string());
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| image(&e))?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(SCALE)
        .ok_or_else(|| image(&"the chart has no size"))?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| image(&"the chart is too large to draw"))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| image(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many pixels of `png` are not white.
    fn inked(png: &[u8]) -> usize {
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(png).expect("a PNG");
        pixmap
            .pixels()
            .iter()
            .filter(|p| (p.red(), p.green(), p.blue()) != (255, 255, 255))
            .count()
    }

    #[test]
    fn text_is_drawn_with_the_carried_font() {
        let svg = |text: &str| {
            format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="10" y="25" font-weight="bold">{text}</text></svg>"#
            )
        };
        let blank = png(&svg("")).expect("drawn");
        assert!(blank.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(inked(&blank), 0);
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(&blank).expect("a PNG");
        assert_eq!(
            (pixmap.width(), pixmap.height()),
            (400, 80),
            "twice the size"
        );
        assert!(inked(&png(&svg("Backlog 12")).expect("drawn")) > 100);
    }

    #[test]
    fn what_is_not_svg_is_refused() {
        assert!(matches!(png("<html>"), Err(ReportError::Image(_))));
    }
}
