//! The dashboard's CJK font ([`charts::FONT`], 4.6 MB): at a URL that names a hash of its bytes,
//! so browsers keep it for a year without asking again (`Cache-Control: immutable`), and
//! gzip-compressed for browsers that accept it, compressed once on first use. The page's text
//! changes with the database, so the dashboard serves the whole font rather than a subset.

use crate::report::charts;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};
use std::io::Write as _;
use std::sync::OnceLock;

/// Where the font's URLs live; the file name is [`file_name`].
pub const FONT_DIR: &str = "/dashboard/font/";

/// `wqy-microhei-<first 16 hex digits of the font's SHA-256>.ttf`: a new font gets a new URL.
pub fn file_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let hash = hex::encode(Sha256::digest(charts::FONT));
        format!("wqy-microhei-{}.ttf", &hash[..16])
    })
}

/// The font's URL, for the pages' CSS.
pub fn url() -> String {
    format!("{FONT_DIR}{}", file_name())
}

/// The font gzip-compressed at the best level, made once.
fn gzipped() -> &'static [u8] {
    static GZ: OnceLock<Vec<u8>> = OnceLock::new();
    GZ.get_or_init(|| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(charts::FONT)
            .and_then(|()| enc.finish())
            .unwrap_or_default()
    })
}

/// Whether an `Accept-Encoding` header value accepts gzip (`gzip` or `*`, without `q=0`).
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f64>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

/// `GET /dashboard/font/{file}`: the font, or 404 for another file name (an old hash).
pub(super) async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file != file_name() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let etag = format!(
        "\"{}\"",
        &file_name()["wqy-microhei-".len()..].trim_end_matches(".ttf")
    );
    let cache = [
        (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        (header::VARY, "accept-encoding"),
    ];
    let etag_header = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return (
            StatusCode::NOT_MODIFIED,
            cache,
            [(header::ETAG, etag_header)],
        )
            .into_response();
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let ttf = [
        (header::CONTENT_TYPE, HeaderValue::from_static("font/ttf")),
        (header::ETAG, etag_header),
    ];
    if gzip {
        let body = tokio::task::spawn_blocking(gzipped)
            .await
            .unwrap_or_default();
        if !body.is_empty() {
            return (cache, ttf, [(header::CONTENT_ENCODING, "gzip")], body).into_response();
        }
    }
    (cache, ttf, charts::FONT).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn gzip_is_accepted_unless_refused() {
        assert!(accepts_gzip("gzip, deflate, br, zstd"));
        assert!(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0, br"));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip(""));
    }

    async fn get(
        file: &str,
        headers: &[(header::HeaderName, &str)],
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(k, HeaderValue::from_str(v).unwrap());
        }
        let res = serve(Path(file.to_owned()), map).await;
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, bytes.to_vec())
    }

    /// The versioned URL is cached for good, compressed for a browser that takes gzip (and
    /// decompresses to the font), plain otherwise, 304 on a matching `ETag`, 404 for an old name.
    #[tokio::test]
    async fn the_font_is_served_compressed_and_cached_for_good() {
        assert!(url().starts_with("/dashboard/font/wqy-microhei-"));
        assert_eq!(file_name().len(), "wqy-microhei-".len() + 16 + ".ttf".len());
        let (status, h, gz) = get(file_name(), &[(header::ACCEPT_ENCODING, "gzip, br")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(h[header::CONTENT_ENCODING], "gzip");
        assert_eq!(
            h[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(gz.len() < charts::FONT.len() * 3 / 4, "{} bytes", gz.len());
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert!(plain == charts::FONT);

        let (_, h2, body) = get(file_name(), &[]).await;
        assert!(h2.get(header::CONTENT_ENCODING).is_none() && body == charts::FONT);

        let etag = h[header::ETAG].to_str().unwrap().to_owned();
        let (status, _, body) = get(file_name(), &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
        let (status, _, _) = get("wqy-microhei-0000000000000000.ttf", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
