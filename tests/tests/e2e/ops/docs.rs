//! The docs are true to the binaries. Every `fathom-agent …` and `fathom-collector …` command in
//! a shell block of `README.md`, `AGENTS.md` or `docs/` is given, with `--help` appended, to the
//! real binary, whose parser refuses an unknown subcommand or flag; a command named in running
//! text is checked by its subcommand words. Every `toml` code block is given to the real loader of
//! the file it documents, and the loaders refuse unknown keys:
//!
//! | the block starts with, or else holds | loader |
//! |-------------------------|--------|
//! | `# collector.toml`; `[county]`, `[[site]]`, `[probes]`, … | `fathom-collector --config FILE probe list` on a fresh SQLite file |
//! | `# agent.toml`; `[schedule]`, `[[modem]]`, `probe_id`, … | `fathom-agent backfill --config FILE` (it reads the config before anything else) |
//! | `# sim:FILE`; `[[modem.state]]`, `link_mbps` | `fathom-agent modem --backend sim:FILE` |
//!
//! A block may show only part of a file: the keys a loader requires and the block leaves out
//! are added (a collector's `[county]`; a probe's collector, ids, token, spool and one modem).
//! The test also misspells a key and a subcommand on purpose and requires the binaries to refuse
//! them, so a check that stopped noticing would fail here too. A path into the repository named
//! in running text (`agent/src/…`, `src/speed/…` in the README's layout table) must exist.

use fathom_e2e::{bin, run};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const AGENT: &str = "fathom-agent";
const COLLECTOR: &str = "fathom-collector";

/// A fenced code block of a Markdown file.
struct Block {
    /// Where it is, as `FILE:LINE` of its first line of content.
    place: String,
    /// The first word of the info string (`sh`, `toml`, …), or empty.
    lang: String,
    /// Its lines, each with its line number.
    lines: Vec<(usize, String)>,
}

/// A command line of one of the binaries, as written in the docs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invocation {
    /// `FILE:LINE`.
    place: String,
    /// `fathom-agent` or `fathom-collector`.
    binary: &'static str,
    /// The words after the binary's name.
    args: Vec<String>,
}

/// What a `toml` code block documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConfigKind {
    Collector,
    Agent,
    SimModems,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the repository")
        .to_owned()
}

/// `README.md`, `AGENTS.md` and every `.md` file under `docs/`, by path: each one's path from the
/// repository root and its text.
fn read_docs(root: &Path) -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("docs/ is readable") {
            let path = entry.expect("docs/ entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut files = vec![root.join("README.md"), root.join("AGENTS.md")];
    walk(&root.join("docs"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(root)
                .expect("under the root")
                .display()
                .to_string();
            let text = std::fs::read_to_string(&path).expect("read the doc");
            (name, text)
        })
        .collect()
}

/// The fenced code blocks of a Markdown text, and its other lines (running text).
fn split_markdown(name: &str, text: &str) -> (Vec<Block>, Vec<(usize, String)>) {
    let mut blocks = Vec::new();
    let mut prose = Vec::new();
    let mut open: Option<(String, Block)> = None;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let trimmed = line.trim_start();
        match &mut open {
            Some((fence, block)) => {
                if trimmed.starts_with(fence.as_str()) && trimmed.trim_matches('`').is_empty() {
                    blocks.push(open.take().expect("a block is open").1);
                } else {
                    block.lines.push((number, line.to_owned()));
                }
            }
            None if trimmed.starts_with("```") => {
                let fence: String = trimmed.chars().take_while(|&c| c == '`').collect();
                let lang = trimmed[fence.len()..]
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let block = Block {
                    place: format!("{name}:{}", number + 1),
                    lang,
                    lines: Vec::new(),
                };
                open = Some((fence, block));
            }
            None => prose.push((number, line.to_owned())),
        }
    }
    assert!(open.is_none(), "{name}: a code block is not closed");
    (blocks, prose)
}

/// Shell words of one command line: quotes removed, a `#` comment dropped, and the operators
/// `|`, `||`, `&&`, `;`, `&` and redirections kept as words of their own.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    word.push(q);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '|' | '&' | ';' | '<' | '>' => {
                // A word of digits just before `>` is the descriptor of a redirection (`2>`).
                if in_word && !word.chars().all(|d| d.is_ascii_digit()) {
                    words.push(std::mem::take(&mut word));
                }
                word.push(c);
                while let Some(&next) = chars.peek() {
                    if matches!(next, '|' | '&' | '>') {
                        word.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                // `2>&1`: the descriptor after `>&` belongs to the operator.
                if word.ends_with(">&") {
                    while let Some(&next) = chars.peek() {
                        if next.is_ascii_digit() || next == '-' {
                            word.push(next);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

fn is_operator(word: &str) -> bool {
    word.starts_with(['|', '&', ';', '<', '>'])
        || (word.starts_with(|c: char| c.is_ascii_digit()) && word.contains(['<', '>']))
}

/// The binary a command's first word names, if it is one of ours.
fn our_binary(command_word: &str) -> Option<&'static str> {
    match command_word.rsplit('/').next() {
        Some(AGENT) => Some(AGENT),
        Some(COLLECTOR) => Some(COLLECTOR),
        _ => None,
    }
}

/// The invocations of our binaries on one shell line: each command of a pipeline or list whose
/// command word (after `sudo` and `NAME=value` assignments) is one of them, without its
/// redirections.
fn invocations_in_line(place: &str, line: &str) -> Vec<Invocation> {
    let words = shell_words(line);
    let mut found = Vec::new();
    let mut command: Vec<String> = Vec::new();
    let mut words = words.into_iter().peekable();
    let mut finish = |command: &mut Vec<String>| {
        let mut rest = command
            .drain(..)
            .skip_while(|w| w == "sudo" || (w.contains('=') && !w.starts_with('-')));
        if let Some(binary) = rest.next().as_deref().and_then(our_binary) {
            found.push(Invocation {
                place: place.to_owned(),
                binary,
                args: rest.collect(),
            });
        }
    };
    while let Some(word) = words.next() {
        if matches!(word.as_str(), "|" | "||" | "&&" | ";" | "&") {
            finish(&mut command);
        } else if is_operator(&word) {
            // A redirection: `> FILE` takes the next word, `2>&1` and `>FILE` do not.
            if word.ends_with(['<', '>']) {
                words.next();
            }
        } else {
            command.push(word);
        }
    }
    finish(&mut command);
    found
}

/// The commands of a shell block: lines joined where they end in `\`; in a `console` block only
/// the lines after a `$ ` prompt.
fn block_invocations(block: &Block) -> Vec<Invocation> {
    let console = block.lang == "console";
    let mut found = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (number, line) in &block.lines {
        let (start, mut text) = if let Some(continued) = pending.take() {
            continued
        } else {
            let line = line.trim_start();
            let line = match line.strip_prefix("$ ") {
                Some(command) => command,
                None if console => continue,
                None => line,
            };
            (*number, line.to_owned())
        };
        if start != *number {
            text.push(' ');
            text.push_str(line.trim());
        }
        if let Some(head) = text.trim_end().strip_suffix('\\') {
            pending = Some((start, head.to_owned()));
            continue;
        }
        let place = block.place.rsplit_once(':').map_or_else(
            || block.place.clone(),
            |(file, _)| format!("{file}:{start}"),
        );
        found.extend(invocations_in_line(&place, &text));
    }
    found
}

/// Commands named in running text, inside backticks: their subcommand words only (up to the
/// first flag or placeholder), since the text around them may abbreviate.
fn prose_invocations(name: &str, prose: &[(usize, String)]) -> Vec<Invocation> {
    let mut found = Vec::new();
    for (number, line) in prose {
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 0 {
                continue;
            }
            let mut words = span.split_whitespace();
            let Some(binary) = words.next().and_then(our_binary) else {
                continue;
            };
            if !span.starts_with(binary) {
                continue;
            }
            let mut args = Vec::new();
            let mut words = words.peekable();
            // The collector's global options may come before its subcommand.
            while let Some(&word) = words.peek() {
                if binary == COLLECTOR && matches!(word, "--config" | "--db") {
                    words.next();
                    words.next();
                } else if word.starts_with('-')
                    || word.contains(['[', ']', '|', '…', '<', '>', '{', '('])
                {
                    break;
                } else {
                    args.push(word.to_owned());
                    words.next();
                }
            }
            found.push(Invocation {
                place: format!("{name}:{number}"),
                binary,
                args,
            });
        }
    }
    found
}

/// Runs `binary ARGS --help`: the parser reads every word before it stops at `--help`, so an
/// unknown subcommand or flag, or a value its parser refuses, fails the command.
fn help_refusal(invocation: &Invocation) -> Option<String> {
    let (status, _, err) = run(Command::new(bin(invocation.binary))
        .args(&invocation.args)
        .arg("--help"));
    (!status.success()).then(|| {
        format!(
            "{}: `{} {}` is refused by the binary: {}",
            invocation.place,
            invocation.binary,
            invocation.args.join(" "),
            err.trim()
        )
    })
}

/// The block's text, lines joined.
fn block_text(block: &Block) -> String {
    let lines: Vec<&str> = block.lines.iter().map(|(_, l)| l.as_str()).collect();
    lines.join("\n")
}

/// What the block documents: what its first line says (`# collector.toml`, `# agent.toml`,
/// `# sim:FILE`), else what its tables and keys can only belong to.
fn config_kind(block: &Block) -> Option<ConfigKind> {
    let lines: Vec<&str> = block.lines.iter().map(|(_, l)| l.trim()).collect();
    let first = lines.iter().find(|l| !l.is_empty())?;
    if let Some(comment) = first.strip_prefix('#').map(str::trim) {
        if comment.starts_with("collector.toml") {
            return Some(ConfigKind::Collector);
        } else if comment.starts_with("agent.toml") {
            return Some(ConfigKind::Agent);
        } else if comment.starts_with("sim:") {
            return Some(ConfigKind::SimModems);
        }
    }
    let has = |words: &[&str]| lines.iter().any(|l| words.iter().any(|w| l.starts_with(w)));
    if has(&["[[modem.state]]", "link_mbps", "supports_ipv6"]) {
        Some(ConfigKind::SimModems)
    } else if has(&[
        "[county]",
        "[province]",
        "[[site]]",
        "[[website]]",
        "[database]",
        "[indicators]",
        "[limits]",
        "[probes]",
        "[[probes.override]]",
    ]) {
        Some(ConfigKind::Collector)
    } else if has(&[
        "[schedule]",
        "[upload]",
        "[speedtest]",
        "[ipv6]",
        "[[modem]]",
        "probe_id",
        "collector =",
    ]) {
        Some(ConfigKind::Agent)
    } else {
        None
    }
}

/// Whether the top level of a TOML text (before its first table) sets `key`.
fn sets_root_key(text: &str, key: &str) -> bool {
    text.lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with('['))
        .any(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
}

fn has_table(text: &str, header: &str) -> bool {
    text.lines().any(|l| l.trim() == header)
}

/// The block made a whole file: the keys its loader requires and it leaves out are added.
fn complete(kind: ConfigKind, block: &str) -> String {
    match kind {
        ConfigKind::Collector
            if !has_table(block, "[county]") && !has_table(block, "[province]") =>
        {
            format!("{block}\n[county]\nname = \"沂源县\"\ntimezone = \"Asia/Shanghai\"\n")
        }
        ConfigKind::Agent => {
            let mut text = String::new();
            for (key, value) in [
                ("collector", "https://collector.example.cn:8787"),
                ("probe_id", "yy-hosp-01"),
                ("site_id", "county-hospital"),
                ("token", "fth_docs_check"),
                ("spool", "spool.db"),
            ] {
                if !sets_root_key(block, key) {
                    writeln!(text, "{key} = \"{value}\"").expect("a String takes any text");
                }
            }
            text.push_str(block);
            if !has_table(block, "[[modem]]") {
                text.push_str(
                    "\n[[modem]]\ncarrier = \"cmcc\"\ninterface = \"wwan0\"\nbackend = \"mmcli\"\n",
                );
            }
            text
        }
        _ => block.to_owned(),
    }
}

/// The files a collector block names but cannot hold: a province's county files (each a
/// county of its own name) and a county's CSV site list (a header alone), so the block itself is
/// what the loader judges.
fn write_referenced_files(text: &str, dir: &Path) {
    let quoted = |line: &str| -> Vec<String> {
        line.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    for line in text.lines().map(str::trim) {
        let file = |name: &str| {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().expect("a file in a folder"))
                .expect("make the folder");
            path
        };
        if line.starts_with("counties") {
            for (i, name) in quoted(line).iter().enumerate() {
                std::fs::write(
                    file(name),
                    format!("[county]\nname = \"县{i}\"\nid = \"c{i}\"\n"),
                )
                .expect("write a county file");
            }
        } else if line.starts_with("site_list") {
            for name in quoted(line) {
                std::fs::write(file(&name), "id,name,category,lat,lon\n")
                    .expect("write a site list");
            }
        }
    }
}

/// Gives a whole file to its real loader; `None` when accepted, else the loader's words.
fn load_refusal(kind: ConfigKind, text: &str, dir: &Path) -> Option<String> {
    match kind {
        ConfigKind::Collector => {
            let config = dir.join("collector.toml");
            std::fs::write(&config, text).expect("write the config");
            write_referenced_files(text, dir);
            let db = format!("sqlite://{}", dir.join("fathom.db").display());
            let (status, _, err) = run(Command::new(bin(COLLECTOR))
                .arg("--config")
                .arg(&config)
                .args(["--db", &db, "probe", "list"]));
            (!status.success()).then_some(err)
        }
        ConfigKind::Agent => {
            // `backfill` reads the config first; with modems that are not simulated it then
            // stops (exit 2) before writing anything. Only a refused config names the file.
            let config = dir.join("agent.toml");
            std::fs::write(&config, text).expect("write the config");
            let (_, _, err) = run(Command::new(bin(AGENT))
                .args(["backfill", "--weeks", "1", "--config"])
                .arg(&config)
                .arg("--out")
                .arg(dir.join("history.jsonl")));
            err.contains(&format!("config {}", config.display()))
                .then_some(err)
        }
        ConfigKind::SimModems => {
            let file = dir.join("modems.toml");
            std::fs::write(&file, text).expect("write the sim file");
            let (status, _, err) = run(Command::new(bin(AGENT)).args([
                "modem",
                "--json",
                "--backend",
                &format!("sim:{}", file.display()),
            ]));
            (!status.success()).then_some(err)
        }
    }
}

#[test]
fn documented_commands_and_config_keys_exist() {
    let root = repo_root();
    let mut commands = Vec::new();
    let mut configs = Vec::new();
    let mut problems = Vec::new();
    for (name, text) in read_docs(&root) {
        let (blocks, prose) = split_markdown(&name, &text);
        commands.extend(prose_invocations(&name, &prose));
        for block in &blocks {
            match block.lang.as_str() {
                "sh" | "bash" | "shell" | "console" => commands.extend(block_invocations(block)),
                "toml" => match config_kind(block) {
                    Some(kind) => configs.push((block.place.clone(), kind, block_text(block))),
                    None => problems.push(format!(
                        "{}: say which file this toml block shows: start it with \
                         `# collector.toml`, `# agent.toml` or `# sim:FILE`",
                        block.place
                    )),
                },
                _ => {}
            }
        }
    }

    // Enough was found that a parser gone wrong here cannot pass quietly.
    for binary in [AGENT, COLLECTOR] {
        let n = commands.iter().filter(|c| c.binary == binary).count();
        assert!(n >= 5, "only {n} `{binary}` commands found in the docs");
    }
    for kind in [ConfigKind::Collector, ConfigKind::Agent] {
        assert!(
            configs.iter().any(|(_, k, _)| *k == kind),
            "no {kind:?} toml block found in the docs"
        );
    }

    let mut checked = Vec::new();
    for command in &commands {
        if checked.contains(&(command.binary, &command.args)) {
            continue;
        }
        checked.push((command.binary, &command.args));
        problems.extend(help_refusal(command));
    }

    let scratch = tempfile::tempdir().expect("temp dir");
    for (i, (place, kind, block)) in configs.iter().enumerate() {
        let dir = scratch.path().join(i.to_string());
        std::fs::create_dir(&dir).expect("scratch dir");
        let text = complete(*kind, block);
        if let Some(err) = load_refusal(*kind, &text, &dir) {
            problems.push(format!(
                "{place}: the {kind:?} loader refuses the block: {}",
                err.trim()
            ));
        }
    }
    println!(
        "checked {} distinct commands and {} config blocks",
        checked.len(),
        configs.len()
    );
    assert!(
        problems.is_empty(),
        "the docs and the binaries disagree:\n{}",
        problems.join("\n")
    );

    the_checks_notice_mistakes(&commands, &configs, scratch.path());
}

/// A misspelled key in a probe's and in a collector's config, and a misspelled subcommand of each
/// binary, are refused: the checks above would notice such a mistake in the docs.
fn the_checks_notice_mistakes(
    commands: &[Invocation],
    configs: &[(String, ConfigKind, String)],
    scratch: &Path,
) {
    let (_, kind, block) = configs
        .iter()
        .find(|(_, k, _)| *k == ConfigKind::Agent)
        .expect("an agent block");
    let misspelled = format!(
        "{}\n[[modem]]\ncarrier = \"cbn\"\ninteface = \"wwan9\"\nbackend = \"mmcli\"\n",
        complete(*kind, block)
    );
    let dir = scratch.join("misspelled-agent");
    std::fs::create_dir(&dir).expect("scratch dir");
    let err = load_refusal(*kind, &misspelled, &dir).expect("a misspelled probe key is refused");
    assert!(err.contains("inteface"), "{err}");

    let misspelled = format!(
        "{}\n[[website]]\nurl = \"https://docs-check.example.cn/\"\nkind = \"news\"\nnmae = \"x\"\n",
        complete(ConfigKind::Collector, "")
    );
    let dir = scratch.join("misspelled-collector");
    std::fs::create_dir(&dir).expect("scratch dir");
    let err = load_refusal(ConfigKind::Collector, &misspelled, &dir)
        .expect("a misspelled collector key is refused");
    assert!(err.contains("nmae"), "{err}");

    for binary in [AGENT, COLLECTOR] {
        let first = commands
            .iter()
            .find(|c| c.binary == binary && c.args.first().is_some_and(|a| !a.starts_with('-')))
            .expect("a documented subcommand");
        let mut wrong = first.clone();
        wrong.args[0].push('x');
        assert!(
            help_refusal(&wrong).is_some(),
            "`{binary} {}` was not refused",
            wrong.args.join(" ")
        );
    }
}

/// Where a path in the docs may be taken from: the repository's root, or a crate's folder (the
/// README's layout table names `src/…` files of the crate in its row).
const PATH_BASES: [&str; 6] = [
    "",
    "agent",
    "collector",
    "shared",
    "tests",
    "agent/radio-parse",
];

/// Paths into the repository named in running text inside backticks: those that start with one of
/// its folders (`agent/…`, `src/…`, `docs/…`); generated files (`demo-out/`, `target/`) and the
/// machine's paths (`/etc/fathom/…`) are not the repository's.
fn repo_paths(name: &str, prose: &[(usize, String)]) -> Vec<(String, String)> {
    const FOLDERS: [&str; 10] = [
        "agent/",
        "collector/",
        "shared/",
        "tests/",
        "fuzz/",
        "scripts/",
        "packaging/",
        "docs/",
        "src/",
        "radio-parse/",
    ];
    let mut found = Vec::new();
    for (number, line) in prose {
        for (i, span) in line.split('`').enumerate() {
            let span = span.trim_end_matches(['.', ',']);
            if i % 2 == 1
                && FOLDERS.iter().any(|f| span.starts_with(f))
                && !span.contains(|c: char| c.is_whitespace() || "…*<>{}[]|".contains(c))
            {
                found.push((format!("{name}:{number}"), span.to_owned()));
            }
        }
    }
    found
}

#[test]
fn documented_paths_exist() {
    let root = repo_root();
    let mut paths = Vec::new();
    for (name, text) in read_docs(&root) {
        let (_, prose) = split_markdown(&name, &text);
        paths.extend(repo_paths(&name, &prose));
    }
    assert!(
        paths.len() >= 20,
        "only {} paths found in the docs",
        paths.len()
    );
    let missing: Vec<String> = paths
        .iter()
        .filter(|(_, p)| {
            !PATH_BASES
                .iter()
                .any(|base| root.join(base).join(p).exists())
        })
        .map(|(place, p)| format!("{place}: `{p}` is not in the repository"))
        .collect();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn shell_lines_are_split_into_our_commands() {
    let found = invocations_in_line(
        "x:1",
        "sudo FATHOM=1 fathom-collector --config 'a b.toml' probe add-many fleet.txt > tokens.tsv 2>&1",
    );
    assert_eq!(
        found,
        vec![Invocation {
            place: "x:1".into(),
            binary: COLLECTOR,
            args: ["--config", "a b.toml", "probe", "add-many", "fleet.txt"]
                .map(String::from)
                .to_vec(),
        }]
    );
    let found = invocations_in_line(
        "x:2",
        "sudo install target/release/fathom-agent /usr/local/bin/  # copy",
    );
    assert!(found.is_empty(), "{found:?}");
    let found = invocations_in_line(
        "x:3",
        "fathom-agent backfill --config a.toml --out h.jsonl && ./fathom-collector import h.jsonl",
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[1].args, ["import", "h.jsonl"]);
}
