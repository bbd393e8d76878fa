//! What a webhook receives, in each receiver's documented format: a generic JSON object, and the
//! group-chat robots Chinese government offices and carriers use: WeCom (企业微信群机器人,
//! markdown message), DingTalk (钉钉自定义机器人, markdown, optional signature) and Feishu/Lark
//! (飞书自定义机器人, text, optional signature). No vendor SDK: each is one JSON POST. Pure:
//! the time and the secret are arguments.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The receivers' formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `{"source":"fathom","event":…,"rule":…,"text":…}` for any program.
    Json,
    /// 企业微信群机器人: `{"msgtype":"markdown","markdown":{"content":…}}`.
    Wecom,
    /// 钉钉自定义机器人: `{"msgtype":"markdown","markdown":{"title":…,"text":…}}`; with a
    /// secret, `timestamp` and `sign` in the URL.
    Dingtalk,
    /// 飞书自定义机器人: `{"msg_type":"text","content":{"text":…}}`; with a secret,
    /// `timestamp` and `sign` in the body.
    Feishu,
}

/// One message to send: what happened, in words, with the fields a program wants.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `started`, `ended` or `digest`.
    pub event: &'static str,
    /// The rule's id; empty for a digest.
    pub rule: String,
    /// The county.
    pub county: String,
    /// Site id and name; empty for a digest.
    pub site: (String, String),
    /// The probe, for probe rules.
    pub probe_id: Option<String>,
    /// The carrier's id, when it concerns one.
    pub carrier: Option<String>,
    /// A one-line title, Chinese.
    pub title: String,
    /// The body, Chinese first; lines separated by `\n`.
    pub text: String,
    /// When, RFC 3339.
    pub at: String,
}

/// The robots cap a message's size (WeCom: 4096 bytes of markdown); longer text is cut at a
/// character boundary with a note.
pub const MAX_TEXT_BYTES: usize = 3800;

fn capped(text: &str) -> String {
    if text.len() <= MAX_TEXT_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n…（内容过长，已截断 truncated）", &text[..end])
}

/// The URL and JSON body to POST for `m` in `format`. `secret` signs DingTalk and Feishu
/// messages when the robot is set to require it; `now_ms` is the signature's timestamp.
pub fn request(
    format: Format,
    url: &str,
    m: &Message,
    secret: Option<&str>,
    now_ms: i64,
) -> (String, Value) {
    let text = capped(&m.text);
    match format {
        Format::Json => (
            url.to_owned(),
            json!({
                "source": "fathom",
                "event": m.event,
                "rule": m.rule,
                "county": m.county,
                "site_id": m.site.0,
                "site": m.site.1,
                "probe_id": m.probe_id,
                "carrier": m.carrier,
                "title": m.title,
                "text": text,
                "at": m.at,
            }),
        ),
        Format::Wecom => (
            url.to_owned(),
            json!({
                "msgtype": "markdown",
                "markdown": {"content": format!("**{}**\n{}", m.title, quote(&text))},
            }),
        ),
        Format::Dingtalk => {
            let url = match secret {
                Some(s) => {
                    let sign = base64::engine::general_purpose::STANDARD
                        .encode(hmac(s.as_bytes(), format!("{now_ms}\n{s}").as_bytes()));
                    let sign: String =
                        url::form_urlencoded::byte_serialize(sign.as_bytes()).collect();
                    let sep = if url.contains('?') { '&' } else { '?' };
                    format!("{url}{sep}timestamp={now_ms}&sign={sign}")
                }
                None => url.to_owned(),
            };
            (
                url,
                json!({
                    "msgtype": "markdown",
                    "markdown": {"title": m.title, "text": format!("#### {}\n{}", m.title, quote(&text))},
                }),
            )
        }
        Format::Feishu => {
            let mut body = json!({
                "msg_type": "text",
                "content": {"text": format!("{}\n{text}", m.title)},
            });
            if let Some(s) = secret {
                // Feishu signs with the string as the key and an empty message.
                let secs = now_ms / 1000;
                let sign = base64::engine::general_purpose::STANDARD
                    .encode(hmac(format!("{secs}\n{s}").as_bytes(), b""));
                body["timestamp"] = json!(secs.to_string());
                body["sign"] = json!(sign);
            }
            (url.to_owned(), body)
        }
    }
}

/// Markdown quote lines, so the robots show the body indented under the title.
fn quote(text: &str) -> String {
    text.lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Whether a receiver's answer says the message was taken: a 2xx status, and for the robots
/// their own error code 0 (they answer 200 with `{"errcode":93000,…}` on a bad key or a
/// rate limit).
pub fn accepted(format: Format, status: u16, body: &str) -> bool {
    if !(200..300).contains(&status) {
        return false;
    }
    let code = |key: &str| {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get(key).and_then(Value::as_i64))
    };
    match format {
        Format::Json => true,
        Format::Wecom | Format::Dingtalk => code("errcode") == Some(0),
        Format::Feishu => code("code") == Some(0) || code("StatusCode") == Some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            event: "started",
            rule: "silent".into(),
            county: "沂源县".into(),
            site: ("county-hospital".into(), "沂源县人民医院".into()),
            probe_id: Some("hosp-01".into()),
            carrier: None,
            title: "【告警】沂源县人民医院 · 探针 hosp-01".into(),
            text: "已静默 130 分钟（超过 2 小时）\n请检查电源和上行网络".into(),
            at: "2026-12-05T10:00:00Z".into(),
        }
    }

    #[test]
    fn each_robot_gets_its_documented_shape() {
        let m = message();
        let (_, wecom) = request(Format::Wecom, "http://r/", &m, None, 0);
        assert_eq!(wecom["msgtype"], "markdown");
        let content = wecom["markdown"]["content"].as_str().unwrap();
        assert!(
            content.starts_with("**【告警】沂源县人民医院") && content.contains("\n> 请检查电源"),
            "{content}"
        );
        let (_, ding) = request(Format::Dingtalk, "http://r/", &m, None, 0);
        assert_eq!(ding["markdown"]["title"], m.title);
        let (_, feishu) = request(Format::Feishu, "http://r/", &m, None, 0);
        assert_eq!(feishu["msg_type"], "text");
        assert!(feishu.get("sign").is_none());
        let (url, json) = request(Format::Json, "http://r/", &m, None, 0);
        assert_eq!(url, "http://r/");
        assert_eq!(
            (json["event"].as_str(), json["probe_id"].as_str()),
            (Some("started"), Some("hosp-01"))
        );
    }

    #[test]
    fn signatures_follow_the_robots_documented_recipes() {
        let m = message();
        // DingTalk: base64(HMAC-SHA256(key = secret, "timestamp\nsecret")), URL-encoded.
        let (url, _) = request(
            Format::Dingtalk,
            "https://oapi.example/robot/send?access_token=t",
            &m,
            Some("SEC"),
            1_700_000_000_000,
        );
        let expected =
            base64::engine::general_purpose::STANDARD.encode(hmac(b"SEC", b"1700000000000\nSEC"));
        let expected: String = url::form_urlencoded::byte_serialize(expected.as_bytes()).collect();
        assert_eq!(
            url,
            format!(
                "https://oapi.example/robot/send?access_token=t&timestamp=1700000000000&sign={expected}"
            )
        );
        // Feishu: base64(HMAC-SHA256(key = "timestamp\nsecret", empty)), seconds.
        let (_, body) = request(
            Format::Feishu,
            "http://r/",
            &m,
            Some("SEC"),
            1_700_000_000_999,
        );
        assert_eq!(body["timestamp"], "1700000000");
        let expected =
            base64::engine::general_purpose::STANDARD.encode(hmac(b"1700000000\nSEC", b""));
        assert_eq!(body["sign"], expected);
        assert_ne!(
            body["sign"],
            base64::engine::general_purpose::STANDARD.encode(hmac(b"SEC", b""))
        );
    }

    #[test]
    fn a_robot_that_answers_200_with_an_error_code_did_not_take_the_message() {
        for (format, status, body, taken) in [
            (Format::Wecom, 200, r#"{"errcode":0,"errmsg":"ok"}"#, true),
            (
                Format::Wecom,
                200,
                r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
                false,
            ),
            (Format::Dingtalk, 200, "not json", false),
            (Format::Feishu, 200, r#"{"code":0,"msg":"success"}"#, true),
            (
                Format::Feishu,
                200,
                r#"{"code":19021,"msg":"sign match fail"}"#,
                false,
            ),
            (Format::Json, 204, "", true),
            (Format::Json, 500, "", false),
        ] {
            assert_eq!(
                accepted(format, status, body),
                taken,
                "{format:?} {status} {body}"
            );
        }
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let long = "站".repeat(2000);
        let cut = capped(&long);
        assert!(cut.len() < MAX_TEXT_BYTES + 64 && cut.ends_with("已截断 truncated）"));
    }
}
