//! Reading the body of an HTTP answer with a size cap.
//!
//! The agent reads answers from a collector and a test server it does not control; `text()` or
//! `bytes()` would hold whatever they send in memory (a 1.5 GiB upload answer took a probe's
//! agent to 4.7 GB). Every answer the agent reads whole goes through [`read_capped`], which
//! refuses one larger than its cap as soon as it is known to be: from `Content-Length`, or
//! while reading.

/// Largest answer to an upload: a count and the probe's settings with ten website URLs are a
/// few kilobytes.
pub const MAX_UPLOAD_ANSWER_BYTES: usize = 1 << 20;
/// Largest answer to an enrollment: an id, a site and a token.
pub const MAX_ENROLL_ANSWER_BYTES: usize = 64 << 10;
/// Largest answer to a speed test's ping.
pub const MAX_PING_ANSWER_BYTES: usize = 64 << 10;

/// Why an answer's body could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// The body is larger than the cap.
    #[error("the answer is larger than {max} bytes")]
    TooLarge {
        /// The cap.
        max: usize,
    },
    /// The connection failed while reading.
    #[error("cannot read the answer: {0}")]
    Read(#[source] reqwest::Error),
}

/// The body of `resp`, at most `max` bytes.
pub async fn read_capped(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, AnswerError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(AnswerError::TooLarge { max });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(AnswerError::Read)? {
        if body.len() + chunk.len() > max {
            return Err(AnswerError::TooLarge { max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The body of `resp` as text (invalid UTF-8 replaced), at most `max` bytes.
pub async fn text_capped(resp: reqwest::Response, max: usize) -> Result<String, AnswerError> {
    let body = read_capped(resp, max).await?;
    Ok(String::from_utf8(body)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A loopback server answering every connection with `head` and then `body_bytes` zero
    /// bytes (chunked when `head` says so); its URL.
    async fn server(head: &'static str, body_bytes: usize, chunked: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _read = conn.read(&mut request).await;
                    conn.write_all(head.as_bytes()).await.ok();
                    let block = vec![b'x'; 64 * 1024];
                    let mut left = body_bytes;
                    while left > 0 {
                        let n = left.min(block.len());
                        let written = if chunked {
                            conn.write_all(format!("{n:x}\r\n").as_bytes()).await.ok();
                            let w = conn.write_all(&block[..n]).await;
                            conn.write_all(b"\r\n").await.ok();
                            w
                        } else {
                            conn.write_all(&block[..n]).await
                        };
                        if written.is_err() {
                            return;
                        }
                        left -= n;
                    }
                    if chunked {
                        conn.write_all(b"0\r\n\r\n").await.ok();
                    }
                });
            }
        });
        format!("http://{addr}/")
    }

    async fn get(url: &str) -> reqwest::Response {
        reqwest::get(url).await.unwrap()
    }

    #[tokio::test]
    async fn an_answer_announced_larger_than_the_cap_is_refused_before_reading() {
        let url = server(
            "HTTP/1.1 200 OK\r\nContent-Length: 1610612736\r\n\r\n",
            0,
            false,
        )
        .await;
        let err = text_capped(get(&url).await, MAX_UPLOAD_ANSWER_BYTES)
            .await
            .unwrap_err();
        assert!(matches!(err, AnswerError::TooLarge { max } if max == MAX_UPLOAD_ANSWER_BYTES));
    }

    #[tokio::test]
    async fn an_answer_without_a_length_is_cut_off_at_the_cap() {
        let url = server(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            8 << 20,
            true,
        )
        .await;
        let err = text_capped(get(&url).await, MAX_ENROLL_ANSWER_BYTES)
            .await
            .unwrap_err();
        assert!(matches!(err, AnswerError::TooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn an_answer_within_the_cap_is_read_whole() {
        let url = server(
            "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
            1000,
            false,
        )
        .await;
        let text = text_capped(get(&url).await, MAX_ENROLL_ANSWER_BYTES)
            .await
            .unwrap();
        assert_eq!(text.len(), 1000);
    }
}
