//! Same-site links of a home page, read with an HTML parser: pure, no I/O.
//!
//! A link counts when it is an `<a href>` or `<area href>` of http or https, its host is the
//! site's host or a subdomain of the site's domain (the host without a leading `www.`), and it is
//! not the page itself. Fragments are dropped (`/news#top` is `/news`), `mailto:` and
//! `javascript:` links are skipped, `<base href>` is honoured, and each URL is taken once, in
//! document order.

use scraper::{Html, Selector};
use std::collections::HashSet;
use url::Url;

/// The site's domain: its host without a leading `www.`.
pub fn site_domain(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    host.strip_prefix("www.")
        .filter(|rest| rest.contains('.'))
        .unwrap_or(host)
}

/// Whether `host` belongs to the site of `site_host`.
pub fn is_same_site(host: &str, site_host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let site_host = site_host.trim_end_matches('.').to_ascii_lowercase();
    let domain = site_domain(&site_host);
    host == site_host || host == domain || host.ends_with(&format!(".{domain}"))
}

/// Up to `max` distinct same-site links of the page at `page` (its final URL, after redirects).
pub fn same_site_links(html: &str, page: &Url, site_host: &str, max: usize) -> Vec<Url> {
    let doc = Html::parse_document(html);
    let (Ok(anchors), Ok(base_sel)) = (
        Selector::parse("a[href], area[href]"),
        Selector::parse("base[href]"),
    ) else {
        return Vec::new();
    };
    let base = doc
        .select(&base_sel)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| page.join(href.trim()).ok())
        .unwrap_or_else(|| page.clone());
    let mut this_page = page.clone();
    this_page.set_fragment(None);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for a in doc.select(&anchors) {
        if out.len() >= max {
            break;
        }
        let Some(href) = a.value().attr("href").map(str::trim) else {
            continue;
        };
        if href.is_empty() || href.starts_with('#') {
            continue;
        }
        let Ok(mut url) = base.join(href) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        if !url.host_str().is_some_and(|h| is_same_site(h, site_host)) {
            continue;
        }
        url.set_fragment(None);
        if url == this_page || !seen.insert(url.as_str().to_owned()) {
            continue;
        }
        out.push(url);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    fn page() -> Url {
        Url::parse("https://www.city.test/").expect("url")
    }

    fn links(html: &str, max: usize) -> Vec<String> {
        same_site_links(html, &page(), "www.city.test", max)
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn keeps_same_site_http_links_once_in_document_order() {
        let html = r##"<html><body>
            <a href="/news">News</a>
            <a href="news#latest">News again</a>
            <a href="https://www.city.test/about">About</a>
            <a href="http://mail.city.test/">Mail (subdomain)</a>
            <a href="https://city.test/bare">Bare domain</a>
            <a href="https://othercity.test/">Other site</a>
            <a href="https://evilcity.test/">Suffix but not a subdomain</a>
            <a href="mailto:mayor@city.test">Mail the mayor</a>
            <a href="javascript:void(0)">Menu</a>
            <a href="#top">Top</a>
            <a href="/">Home</a>
            <a href="ftp://www.city.test/file">FTP</a>
            <map><area href="/map/north"></map>
            <a>No href</a>
        </body></html>"##;
        assert_eq!(
            links(html, 20),
            [
                "https://www.city.test/news",
                "https://www.city.test/about",
                "http://mail.city.test/",
                "https://city.test/bare",
                "https://www.city.test/map/north",
            ]
        );
    }

    #[test]
    fn takes_at_most_max_links() {
        let mut html = String::new();
        for i in 0..50 {
            write!(html, "<a href=\"/p{i}\">{i}</a>").expect("writing to a String");
        }
        let got = links(&html, 20);
        assert_eq!(got.len(), 20);
        assert_eq!(got[19], "https://www.city.test/p19");
    }

    #[test]
    fn honours_base_href_and_survives_broken_html() {
        let html = r#"<head><base href="https://www.city.test/en/"></head>
            <a href="contact">Contact<div><a href=  " x ">unclosed"#;
        assert_eq!(
            links(html, 20),
            [
                "https://www.city.test/en/contact",
                "https://www.city.test/en/x"
            ]
        );
        assert!(links("", 20).is_empty());
        assert!(links("\u{0}<<<>>>", 20).is_empty());
    }

    #[test]
    fn the_site_domain_drops_only_a_leading_www() {
        assert_eq!(site_domain("www.city.test"), "city.test");
        assert_eq!(site_domain("city.test"), "city.test");
        assert_eq!(site_domain("www.test"), "www.test");
        assert!(is_same_site("news.city.test", "www.city.test"));
        assert!(is_same_site("WWW.City.Test.", "www.city.test"));
        assert!(!is_same_site("city.test.evil", "www.city.test"));
    }
}
