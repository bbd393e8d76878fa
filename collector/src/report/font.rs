//! The CJK font the static report carries with it: a subset of [`FONT`] holding only the glyphs
//! a page or a chart uses, as a CSS `@font-face` with a `data:` URL. The report's `index.html`
//! and each of its SVG files then show Chinese on a machine without any Chinese font, and stay
//! small: a subset of a chart's hundred-odd characters is tens of kilobytes where the whole
//! font is 4.6 MB.
//!
//! The subset keeps a Unicode `cmap` (browsers refuse a font without one) and the tables
//! OpenType requires, and drops the hinting programs and the layout tables, which the report's
//! horizontal, unshaped Chinese and Latin text does not need.

use super::charts::FONT;
use allsorts::binary::read::ReadScope;
use allsorts::font::read_cmap_subtable;
use allsorts::font_data::FontData;
use allsorts::subset::{CmapTarget, SubsetProfile, subset};
use allsorts::tables::FontTableProvider;
use allsorts::tables::cmap::Cmap;
use allsorts::tag;
use base64::Engine as _;
use std::collections::BTreeSet;

/// The CSS family name of the embedded font, on the dashboard and in the report.
pub const FAMILY: &str = "FathomCJK";

/// Why the font could not be subset; the embedded font is fixed, so this is a bug.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FontError {
    /// The embedded font did not parse.
    #[error("cannot read the embedded font: {0}")]
    Read(String),
    /// The font has no Unicode character map.
    #[error("the embedded font has no Unicode cmap")]
    NoCmap,
    /// Writing the subset failed.
    #[error("cannot subset the embedded font: {0}")]
    Subset(String),
}

/// Characters of `text` a browser draws with the font: every character but controls. Markup
/// and CSS around the text are ASCII and add at most a few small Latin glyphs.
pub fn chars_of(text: &str) -> BTreeSet<char> {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// The subset of [`FONT`] with the glyphs of `chars` (those the font has; others fall back to
/// the browser's fonts) and `.notdef`, as a TrueType file.
pub fn subset_font(chars: &BTreeSet<char>) -> Result<Vec<u8>, FontError> {
    let read = |e: &dyn std::fmt::Display| FontError::Read(e.to_string());
    let data = ReadScope::new(FONT)
        .read::<FontData<'_>>()
        .map_err(|e| read(&e))?;
    let provider = data.table_provider(0).map_err(|e| read(&e))?;
    let cmap_data = provider.read_table_data(tag::CMAP).map_err(|e| read(&e))?;
    let cmap = ReadScope::new(&cmap_data)
        .read::<Cmap<'_>>()
        .map_err(|e| read(&e))?;
    let (_, table) = read_cmap_subtable(&cmap)
        .map_err(|e| read(&e))?
        .ok_or(FontError::NoCmap)?;
    // Glyph 0 (.notdef) first, as the subsetter requires; then each glyph once, in the
    // characters' order.
    let mut glyphs = vec![0u16];
    for &c in chars {
        if let Some(g) = table.map_glyph(u32::from(c)).map_err(|e| read(&e))?
            && g != 0
            && !glyphs.contains(&g)
        {
            glyphs.push(g);
        }
    }
    subset(
        &provider,
        &glyphs,
        &SubsetProfile::Minimal,
        CmapTarget::Unicode,
    )
    .map_err(|e| FontError::Subset(e.to_string()))
}

/// The subset of the glyphs of `chars` as a `data:` URL.
pub fn data_url(chars: &BTreeSet<char>) -> Result<String, FontError> {
    let font = subset_font(chars)?;
    Ok(format!(
        "data:font/ttf;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(font)
    ))
}

/// A CSS rule that declares [`FAMILY`] as the subset of the glyphs of `chars`, inline.
pub fn font_face(chars: &BTreeSet<char>) -> Result<String, FontError> {
    Ok(format!(
        "@font-face{{font-family:{FAMILY};src:url({})}}",
        data_url(chars)?
    ))
}

/// `svg` with a `<style>` right after its opening tag that embeds the subset font of its own
/// characters and sets it on every text, so the file shows Chinese wherever it is opened.
/// An SVG without an `<svg …>` tag comes back as it was.
pub fn embed_in_svg(svg: &str) -> Result<String, FontError> {
    let Some(open) = svg.find("<svg") else {
        return Ok(svg.to_owned());
    };
    let Some(end) = svg[open..].find('>').map(|i| open + i + 1) else {
        return Ok(svg.to_owned());
    };
    let face = font_face(&chars_of(svg))?;
    // A style sheet rule beats the `font-family` attribute plotters writes on each <text>.
    Ok(format!(
        "{}<style>{face}text{{font-family:{FAMILY},sans-serif}}</style>{}",
        &svg[..end],
        &svg[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ab_glyph::{Font as _, FontRef};

    #[test]
    fn a_subset_parses_and_maps_exactly_the_characters_asked_for() {
        let chars = chars_of("中国移动 I26 目标 25");
        let bytes = subset_font(&chars).unwrap();
        assert!(bytes.len() < 20_000, "{} bytes", bytes.len());
        let full = FontRef::try_from_slice(FONT).unwrap();
        let sub = FontRef::try_from_slice(&bytes).unwrap();
        // The character map holds exactly the characters asked for; the glyphs are theirs,
        // .notdef and the parts composite glyphs are built of.
        let mapped: BTreeSet<char> = sub.codepoint_ids().map(|(_, c)| c).collect();
        assert_eq!(mapped, chars);
        assert!(sub.glyph_count() < 2 * chars.len(), "{}", sub.glyph_count());
        for &c in &chars {
            assert_ne!(sub.glyph_id(c).0, 0, "{c:?} lost");
            let (a, b) = (full.glyph_id(c), sub.glyph_id(c));
            assert!(
                (full.h_advance_unscaled(a) - sub.h_advance_unscaled(b)).abs() < 1e-3,
                "{c:?} changed width"
            );
            assert_eq!(
                full.outline(a).map(|o| o.curves.len()),
                sub.outline(b).map(|o| o.curves.len()),
                "{c:?} changed shape"
            );
        }
        for c in ['联', '通', 'x', '7'] {
            assert_eq!(sub.glyph_id(c).0, 0, "{c:?} should not be in the subset");
        }
    }

    #[test]
    fn an_svg_carries_its_font_inside_its_svg_element() {
        let svg = "<?xml version=\"1.0\"?>\n<svg width=\"10\" xmlns=\"http://www.w3.org/2000/svg\"><text font-family=\"sans-serif\">总体</text></svg>";
        let out = embed_in_svg(svg).unwrap();
        let style = out
            .find("<style>@font-face{font-family:FathomCJK;src:url(data:font/ttf;base64,")
            .unwrap();
        assert!(style > out.find("<svg").unwrap() && style < out.find("<text").unwrap());
        assert!(out.contains("text{font-family:FathomCJK,sans-serif}"));
        assert!(out.ends_with("总体</text></svg>"));
        assert_eq!(embed_in_svg("no svg here").unwrap(), "no svg here");
    }
}
