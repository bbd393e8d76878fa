//! One-line reasons from errors, for results and logs: reqwest, hickory and rustls keep the useful
//! part ("connection refused", "certificate expired") several sources deep.

/// The error and its sources joined with `: `, each text once, whitespace collapsed, cut at
/// `max_chars`.
pub fn error_chain(e: &(dyn std::error::Error + 'static), max_chars: usize) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts
        .join(": ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max_chars)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn sources_are_joined_once_and_cut() {
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection\n refused",
        ));
        assert_eq!(
            error_chain(&e, 400),
            "error sending request: connection refused"
        );
        assert_eq!(error_chain(&e, 5), "error");
    }
}
