//! What the browser and PDF tests read from the images they make: screenshots and rendered
//! pages are looked at by people during development, and by these checks in every run.

use crate::bin;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What a PNG shows, in the few numbers a test can judge: a blank or one-colour image is a page
/// that did not render.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PngStats {
    /// Distinct RGB colours.
    pub colours: usize,
    /// Share of pixels that are not (near) white, 0 to 1.
    pub inked: f64,
    pub width: u32,
    pub height: u32,
}

/// Reads a PNG file; panics (a test helper) when it is missing or not a PNG.
pub fn png_stats(path: &Path) -> PngStats {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("{} not written: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("one frame");
    let step = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()]
        .chunks(step)
        .map(|p| &p[..3])
        .collect();
    let distinct: HashSet<&[u8]> = pixels.iter().copied().collect();
    let inked = pixels.iter().filter(|p| p.iter().any(|&c| c < 240)).count();
    PngStats {
        colours: distinct.len(),
        inked: inked as f64 / pixels.len() as f64,
        width: info.width,
        height: info.height,
    }
}

/// `target/test-artifacts/<sub>`, created: where tests leave screenshots and rendered pages so
/// that a person can look at what the last run saw.
pub fn artifacts(sub: &str) -> PathBuf {
    // target/<profile>/fathom-collector → target/test-artifacts
    let dir = bin("fathom-collector")
        .parent()
        .and_then(Path::parent)
        .expect("binaries live in target/<profile>")
        .join("test-artifacts")
        .join(sub);
    std::fs::create_dir_all(&dir).expect("artifact folder");
    dir
}
