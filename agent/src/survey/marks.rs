//! Survey marks kept on disk until the collector has them, and their upload.
//!
//! Durability: a mark is one JSON file `<mark id>.json` in the folder beside the spool
//! (`spool.db` → `spool.db.survey/`), written to a temporary name, fsynced, renamed into place
//! and the folder fsynced, before the survey shows it as marked; a power cut leaves either the
//! whole mark or none. A file is removed only after the collector answered the upload holding it
//! with 200 (stored or already stored: the mark id makes the upload idempotent). Pending marks
//! are sent again at the next `survey` start and by the daemon's uploader after each drain.

use fathom_shared::survey::{
    MAX_MARKS_PER_UPLOAD, SURVEY_PATH, SurveyMark, SurveyResponse, SurveyUpload,
};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why keeping or sending marks failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MarkError {
    /// The folder or a file could not be written or read.
    #[error("survey marks in {path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The collector could not be reached.
    #[error("cannot reach the collector: {0}")]
    Http(#[from] reqwest::Error),
    /// The collector refused the upload.
    #[error("the collector refused the survey marks: HTTP {status}: {body}")]
    Refused {
        /// The status code.
        status: u16,
        /// Its answer, shortened.
        body: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MarkError + '_ {
    move |source| MarkError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The folder of marks waiting for the collector.
#[derive(Debug, Clone)]
pub struct MarkStore {
    dir: PathBuf,
}

impl MarkStore {
    /// The folder beside `spool` (the spool file's name with `.survey` appended).
    pub fn beside(spool: &Path) -> Self {
        let mut name = spool.as_os_str().to_owned();
        name.push(".survey");
        Self {
            dir: PathBuf::from(name),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `mark` durably (see the module doc); returns once it is on disk.
    pub fn keep(&self, mark: &SurveyMark) -> Result<(), MarkError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let path = self.dir.join(format!("{}.json", mark.id));
        let tmp = self.dir.join(format!(".{}.tmp", mark.id));
        // Serialising a wire type cannot fail.
        let text = serde_json::to_vec(mark).unwrap_or_default();
        {
            let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
            file.write_all(&text).map_err(io(&tmp))?;
            file.sync_all().map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        // The rename is durable only once the folder's entry is.
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))
    }

    /// Every kept mark, oldest id first. A file that cannot be read as a mark is logged and
    /// left where it is (for a person to look at), never sent and never deleted.
    pub fn pending(&self) -> Result<Vec<SurveyMark>, MarkError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let mut marks = Vec::with_capacity(paths.len());
        for p in paths {
            let text = std::fs::read(&p).map_err(io(&p))?;
            match serde_json::from_slice::<SurveyMark>(&text) {
                Ok(m) => marks.push(m),
                Err(e) => {
                    tracing::error!(file = %p.display(), error = %e, "A kept survey mark cannot be read; it is left in place.");
                }
            }
        }
        Ok(marks)
    }

    /// Removes the marks of `ids` (acknowledged by the collector).
    pub fn remove(&self, ids: &[String]) -> Result<(), MarkError> {
        for id in ids {
            let path = self.dir.join(format!("{id}.json"));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        Ok(())
    }
}

/// Sends the kept marks to `collector` with the probe's `token`, removing each batch the
/// collector acknowledged. Returns how many marks were acknowledged.
pub async fn upload(
    client: &reqwest::Client,
    collector: &str,
    token: &str,
    store: &MarkStore,
) -> Result<usize, MarkError> {
    let pending = store.pending()?;
    let mut acked = 0;
    for batch in pending.chunks(MAX_MARKS_PER_UPLOAD) {
        let response = client
            .post(format!("{collector}{SURVEY_PATH}"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(30))
            .json(&SurveyUpload {
                marks: batch.to_vec(),
            })
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            return Err(MarkError::Refused {
                status: status.as_u16(),
                body,
            });
        }
        let answer: SurveyResponse = response.json().await?;
        let ids: Vec<String> = batch.iter().map(|m| m.id.to_string()).collect();
        store.remove(&ids)?;
        tracing::info!(
            accepted = answer.accepted,
            duplicate = answer.duplicate,
            "Survey marks uploaded."
        );
        acked += batch.len();
    }
    Ok(acked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fathom_shared::ResultId;

    fn mark(label: &str, ms: u64) -> SurveyMark {
        SurveyMark {
            id: ResultId::at(ms),
            label: label.to_owned(),
            marked_at: fathom_shared::UtcTime::parse("2026-12-06T02:00:00Z").unwrap(),
            carriers: vec![],
        }
    }

    #[test]
    fn kept_marks_survive_until_removed_and_unreadable_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = MarkStore::beside(&dir.path().join("spool.db"));
        assert!(
            store.pending().unwrap().is_empty(),
            "no folder yet: nothing pending"
        );
        let (a, b) = (mark("A", 1_765_000_000_000), mark("B", 1_765_000_001_000));
        store.keep(&b).unwrap();
        store.keep(&a).unwrap();
        std::fs::write(store.dir().join("torn.json"), b"{\"id\":").unwrap();
        let again = MarkStore::beside(&dir.path().join("spool.db"));
        assert_eq!(again.pending().unwrap(), vec![a.clone(), b.clone()]);
        again.remove(&[a.id.to_string()]).unwrap();
        assert_eq!(again.pending().unwrap(), vec![b]);
        assert!(store.dir().join("torn.json").exists());
        assert!(
            std::fs::read_dir(store.dir()).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")),
            "no temporary file is left"
        );
    }

    #[tokio::test]
    async fn a_refused_upload_keeps_the_marks() {
        use axum::routing::post;
        let app = axum::Router::new().route(
            SURVEY_PATH,
            post(|| async { (axum::http::StatusCode::UNAUTHORIZED, "unknown token") }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let dir = tempfile::tempdir().unwrap();
        let store = MarkStore::beside(&dir.path().join("spool.db"));
        store.keep(&mark("A", 1_765_000_000_000)).unwrap();
        let err = upload(&reqwest::Client::new(), &url, "t", &store)
            .await
            .unwrap_err();
        assert!(
            matches!(err, MarkError::Refused { status: 401, .. }),
            "{err}"
        );
        assert_eq!(store.pending().unwrap().len(), 1);
    }
}
