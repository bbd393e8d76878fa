//! Where every piece of the PDF goes: line-wrapping, tables split across pages with their header
//! repeated, headings kept with what follows them, charts whole on a page. Pure: the font is a
//! function giving each character's advance, and the result is a list of pages of positioned
//! items that `render` draws.

/// An A4 page in PDF points (1/72 inch): 210 × 297 mm.
pub const A4: (f32, f32) = (595.28, 841.89);
/// The margin on every side, points (about 15 mm).
pub const MARGIN: f32 = 42.0;
/// Room kept at the foot of every page for the page number.
pub const FOOTER: f32 = 22.0;
/// Line height as a multiple of the font size.
pub const LEADING: f32 = 1.35;
/// Padding inside a table cell and a banner, points.
pub const PAD: f32 = 3.5;

/// Text sizes, points.
pub const TITLE_SIZE: f32 = 18.0;
/// Section headings.
pub const HEADING_SIZE: f32 = 13.0;
/// Paragraphs.
pub const BODY_SIZE: f32 = 9.5;
/// Table cells.
pub const CELL_SIZE: f32 = 8.5;

/// The colour a piece of text or a box is drawn in; `render` maps it to RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ink {
    /// Body text.
    Text,
    /// Notes and the footer.
    Muted,
    /// A met target (green).
    Ok,
    /// A missed target or a warning (red).
    No,
    /// A verdict on mostly simulated data (grey).
    Sim,
    /// The header row of a table (its background).
    Header,
    /// The simulated-data banner (its background).
    Banner,
    /// Table rules.
    Rule,
}

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// What it says.
    pub text: String,
    /// Its colour.
    pub ink: Ink,
}

impl Cell {
    /// A cell in body colour.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ink: Ink::Text,
        }
    }
}

/// What the report is made of, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The report's title.
    Title(String),
    /// A section heading, kept on the page of what follows it.
    Heading(String),
    /// A paragraph.
    Para {
        /// What it says.
        text: String,
        /// Its colour.
        ink: Ink,
    },
    /// A boxed warning (the simulated-data banner).
    Banner(String),
    /// A table; `widths` are the columns' shares of the text width.
    Table {
        /// The columns' relative widths.
        widths: Vec<f32>,
        /// The header row, repeated on every page the table runs onto.
        header: Vec<String>,
        /// The rows.
        rows: Vec<Vec<Cell>>,
    },
    /// Chart number `chart`, as wide as the text, `aspect` = height / width, with its caption.
    Figure {
        /// Index into the report's charts.
        chart: usize,
        /// Height over width.
        aspect: f32,
        /// The caption under it.
        caption: String,
        /// A red note after the caption (simulated data), if any.
        note: Option<String>,
    },
}

/// A positioned piece of a page; `y` grows downwards from the top edge, as in SVG.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// One line of text; `y` is its baseline.
    Text {
        /// Left edge.
        x: f32,
        /// Baseline.
        y: f32,
        /// Font size.
        size: f32,
        /// Colour.
        ink: Ink,
        /// The line.
        text: String,
    },
    /// A box: filled with `fill` if any, outlined when `stroke`.
    Rect {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Background.
        fill: Option<Ink>,
        /// Outline in [`Ink::Rule`].
        stroke: bool,
    },
    /// A chart drawn into this box.
    Chart {
        /// Index into the report's charts.
        index: usize,
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
    },
}

impl Item {
    /// The lowest point the item reaches.
    pub fn bottom(&self) -> f32 {
        match self {
            Item::Text { y, size, .. } => y + size * 0.25,
            Item::Rect { y, h, .. } | Item::Chart { y, h, .. } => y + h,
        }
    }
}

/// One page's items.
pub type Page = Vec<Item>;

/// Where `wrap` may break: after any CJK character, at spaces between other words.
fn breaks_anywhere(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF)
}

/// Punctuation that must not start a line: it stays at the end of the previous one even if it
/// overhangs the width a little.
fn no_line_start(c: char) -> bool {
    "，。、；：）」』！？,.;:)!?%".contains(c)
}

/// Breaks `text` into lines no wider than `max` points at `size`, `advance` giving a
/// character's width at size 1. Breaks after any CJK character and at spaces between Latin
/// words; a word wider than a line is broken between characters. Never returns no line.
pub fn wrap(text: &str, max: f32, size: f32, advance: &dyn Fn(char) -> f32) -> Vec<String> {
    let width = |s: &str| s.chars().map(advance).sum::<f32>() * size;
    // Tokens: a CJK character alone, a run of other non-space characters, or a space.
    let mut tokens: Vec<String> = Vec::new();
    for c in text.chars() {
        let joins = !c.is_whitespace()
            && !breaks_anywhere(c)
            && tokens.last().is_some_and(|t| {
                t.chars()
                    .last()
                    .is_some_and(|l| !l.is_whitespace() && !breaks_anywhere(l))
            });
        if joins {
            tokens.last_mut().expect("checked above").push(c);
        } else {
            tokens.push(if c.is_whitespace() {
                " ".to_owned()
            } else {
                c.to_string()
            });
        }
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    for token in tokens {
        if token == " " {
            if !line.is_empty() && !line.ends_with(' ') {
                line.push(' ');
            }
            continue;
        }
        let first = token.chars().next().expect("tokens are not empty");
        // Closing punctuation hangs past the edge rather than start the next line.
        let hangs = !line.is_empty() && width(&line) + width(&token) > max && no_line_start(first);
        if line.is_empty() || width(&line) + width(&token) <= max || no_line_start(first) {
            line.push_str(&token);
        } else {
            lines.push(line.trim_end().to_owned());
            line = token;
        }
        // A word wider than the line: cut it between characters.
        while !hangs && width(&line) > max && line.chars().count() > 1 && !line.contains(' ') {
            let mut head = String::new();
            for c in line.chars() {
                if !head.is_empty() && width(&head) + advance(c) * size > max {
                    break;
                }
                head.push(c);
            }
            if head.len() == line.len() {
                break;
            }
            line = line[head.len()..].to_owned();
            lines.push(head);
        }
    }
    lines.push(line.trim_end().to_owned());
    lines
}

/// Lays out `blocks` on A4 pages.
pub struct Layout<'a> {
    advance: &'a dyn Fn(char) -> f32,
    pages: Vec<Page>,
    y: f32,
}

/// The width text may take.
pub const TEXT_WIDTH: f32 = A4.0 - 2.0 * MARGIN;
/// The lowest point content may reach.
pub const BOTTOM: f32 = A4.1 - MARGIN - FOOTER;

fn line_height(size: f32) -> f32 {
    size * LEADING
}

impl<'a> Layout<'a> {
    /// An empty first page.
    pub fn new(advance: &'a dyn Fn(char) -> f32) -> Self {
        Self {
            advance,
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    fn wrap(&self, text: &str, max: f32, size: f32) -> Vec<String> {
        wrap(text, max, size, self.advance)
    }

    fn page(&mut self) -> &mut Page {
        self.pages.last_mut().expect("there is always a page")
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Starts a new page unless `h` points fit on this one (or this one is still empty).
    fn ensure(&mut self, h: f32) {
        if self.y + h > BOTTOM && !self.page().is_empty() {
            self.new_page();
        }
    }

    fn text_lines(&mut self, lines: &[String], x: f32, size: f32, ink: Ink) {
        for line in lines {
            self.ensure(line_height(size));
            let y = self.y + size;
            self.page().push(Item::Text {
                x,
                y,
                size,
                ink,
                text: line.clone(),
            });
            self.y += line_height(size);
        }
    }

    /// The height of a table row whose cells wrap in `widths`.
    fn row(&self, cells: &[Cell], widths: &[f32]) -> (Vec<Vec<String>>, f32) {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| self.wrap(&c.text, w - 2.0 * PAD, CELL_SIZE))
            .collect();
        let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1);
        (wrapped, lines as f32 * line_height(CELL_SIZE) + 2.0 * PAD)
    }

    fn draw_row(
        &mut self,
        wrapped: &[Vec<String>],
        inks: &[Ink],
        widths: &[f32],
        h: f32,
        fill: Option<Ink>,
    ) {
        let mut x = MARGIN;
        let y = self.y;
        for ((lines, w), ink) in wrapped.iter().zip(widths).zip(inks) {
            self.page().push(Item::Rect {
                x,
                y,
                w: *w,
                h,
                fill,
                stroke: true,
            });
            for (i, line) in lines.iter().enumerate() {
                self.page().push(Item::Text {
                    x: x + PAD,
                    y: y + PAD + CELL_SIZE + i as f32 * line_height(CELL_SIZE),
                    size: CELL_SIZE,
                    ink: *ink,
                    text: line.clone(),
                });
            }
            x += w;
        }
        self.y += h;
    }

    /// The least room a block needs at the top of a page: what a heading is kept with.
    fn first_height(&self, block: &Block) -> f32 {
        match block {
            Block::Title(_) => line_height(TITLE_SIZE),
            Block::Heading(_) => line_height(HEADING_SIZE),
            Block::Para { .. } => 2.0 * line_height(BODY_SIZE),
            Block::Banner(_) => line_height(BODY_SIZE) + 2.0 * PAD,
            Block::Table {
                widths,
                header,
                rows,
            } => {
                let widths = self.widths(widths);
                let head: Vec<Cell> = header.iter().map(Cell::text).collect();
                let first = rows.first().map_or(0.0, |r| self.row(r, &widths).1);
                self.row(&head, &widths).1 + first
            }
            Block::Figure { aspect, .. } => TEXT_WIDTH * aspect + line_height(BODY_SIZE),
        }
    }

    #[expect(
        clippy::unused_self,
        reason = "the page's width will come from the page"
    )]
    fn widths(&self, shares: &[f32]) -> Vec<f32> {
        let total: f32 = shares.iter().sum();
        shares.iter().map(|s| s / total * TEXT_WIDTH).collect()
    }

    /// Places one block; `next` is the block after it, which a heading is kept with.
    pub fn push(&mut self, block: &Block, next: Option<&Block>) {
        match block {
            Block::Title(text) => {
                let lines = self.wrap(text, TEXT_WIDTH, TITLE_SIZE);
                self.text_lines(&lines, MARGIN, TITLE_SIZE, Ink::Text);
                self.y += 4.0;
            }
            Block::Heading(text) => {
                self.y += 8.0;
                let lines = self.wrap(text, TEXT_WIDTH, HEADING_SIZE);
                let keep = next.map_or(0.0, |b| self.first_height(b));
                self.ensure(lines.len() as f32 * line_height(HEADING_SIZE) + 4.0 + keep);
                self.text_lines(&lines, MARGIN, HEADING_SIZE, Ink::Text);
                self.y += 4.0;
            }
            Block::Para { text, ink } => {
                let lines = self.wrap(text, TEXT_WIDTH, BODY_SIZE);
                self.text_lines(&lines, MARGIN, BODY_SIZE, *ink);
                self.y += 3.0;
            }
            Block::Banner(text) => {
                let lines = self.wrap(text, TEXT_WIDTH - 4.0 * PAD, BODY_SIZE);
                let h = lines.len() as f32 * line_height(BODY_SIZE) + 2.0 * PAD;
                self.ensure(h);
                let y = self.y;
                self.page().push(Item::Rect {
                    x: MARGIN,
                    y,
                    w: TEXT_WIDTH,
                    h,
                    fill: Some(Ink::Banner),
                    stroke: true,
                });
                self.y += PAD;
                self.text_lines(&lines, MARGIN + 2.0 * PAD, BODY_SIZE, Ink::No);
                self.y = y + h + 4.0;
            }
            Block::Table {
                widths,
                header,
                rows,
            } => self.table(widths, header, rows),
            Block::Figure {
                chart,
                aspect,
                caption,
                note,
            } => {
                let h = TEXT_WIDTH * aspect;
                let text = match note {
                    Some(n) => format!("{caption}  {n}"),
                    None => caption.clone(),
                };
                let lines = self.wrap(&text, TEXT_WIDTH, BODY_SIZE);
                self.ensure(h + lines.len() as f32 * line_height(BODY_SIZE) + 4.0);
                let y = self.y;
                self.page().push(Item::Chart {
                    index: *chart,
                    x: MARGIN,
                    y,
                    w: TEXT_WIDTH,
                    h,
                });
                self.y += h + 2.0;
                let ink = if note.is_some() { Ink::No } else { Ink::Muted };
                self.text_lines(&lines, MARGIN, BODY_SIZE, ink);
                self.y += 8.0;
            }
        }
    }

    fn table(&mut self, shares: &[f32], header: &[String], rows: &[Vec<Cell>]) {
        let widths = self.widths(shares);
        let head: Vec<Cell> = header.iter().map(Cell::text).collect();
        let (head_lines, head_h) = self.row(&head, &widths);
        let head_inks = vec![Ink::Text; head.len()];
        let first = rows.first().map_or(0.0, |r| self.row(r, &widths).1);
        self.ensure(head_h + first);
        self.draw_row(&head_lines, &head_inks, &widths, head_h, Some(Ink::Header));
        for row in rows {
            let (lines, h) = self.row(row, &widths);
            if self.y + h > BOTTOM {
                self.new_page();
                self.draw_row(&head_lines, &head_inks, &widths, head_h, Some(Ink::Header));
            }
            let inks: Vec<Ink> = row.iter().map(|c| c.ink).collect();
            self.draw_row(&lines, &inks, &widths, h, None);
        }
        self.y += 6.0;
    }

    /// Lays out every block, then numbers the pages with `footer` ("… 第 N / M 页").
    pub fn run(mut self, blocks: &[Block], footer: &str) -> Vec<Page> {
        for (i, block) in blocks.iter().enumerate() {
            self.push(block, blocks.get(i + 1));
        }
        let total = self.pages.len();
        for (n, page) in self.pages.iter_mut().enumerate() {
            page.push(Item::Text {
                x: MARGIN,
                y: A4.1 - MARGIN + 4.0,
                size: 8.0,
                ink: Ink::Muted,
                text: format!("{footer} · 第 {} / {total} 页", n + 1),
            });
        }
        self.pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CJK one em wide, everything else half.
    fn advance(c: char) -> f32 {
        if breaks_anywhere(c) { 1.0 } else { 0.5 }
    }

    #[test]
    fn chinese_breaks_between_characters_and_latin_between_words() {
        assert_eq!(
            wrap("网络指标周报测试", 40.0, 10.0, &advance),
            ["网络指标", "周报测试"]
        );
        assert_eq!(
            wrap("mean speed per site", 50.0, 10.0, &advance),
            ["mean speed", "per site"]
        );
        // A word wider than the line is cut between its characters.
        assert_eq!(
            wrap("abcdefghij", 20.0, 10.0, &advance),
            ["abcd", "efgh", "ij"]
        );
        assert_eq!(wrap("", 20.0, 10.0, &advance), [""]);
    }

    #[test]
    fn closing_punctuation_never_starts_a_line() {
        let lines = wrap("达标达标，未达标", 40.0, 10.0, &advance);
        assert_eq!(lines[0], "达标达标，");
        assert!(lines.iter().all(|l| !l.starts_with('，')), "{lines:?}");
    }

    #[test]
    fn every_wrapped_line_fits_and_no_text_is_lost() {
        let text = "I26 移动通信网络平均下载速率 mean download rate over sites 沂源汽车站 https://www.example.cn/a/very/long/path";
        for max in [30.0, 60.0, 120.0, 300.0] {
            let lines = wrap(text, max, 8.5, &advance);
            for l in &lines {
                let w: f32 = l.chars().map(advance).sum::<f32>() * 8.5;
                assert!(w <= max + 8.5, "{l:?} is {w} wide, max {max}");
            }
            let joined: String = lines.concat().split_whitespace().collect();
            let want: String = text.split_whitespace().collect();
            assert_eq!(joined, want, "at {max}");
        }
    }

    fn table(rows: usize) -> Block {
        Block::Table {
            widths: vec![1.0, 3.0],
            header: vec!["站点 site".into(), "说明 note".into()],
            rows: (0..rows)
                .map(|i| {
                    vec![
                        Cell::text(format!("{i}")),
                        Cell::text("网站 ".repeat(i % 7)),
                    ]
                })
                .collect(),
        }
    }

    fn texts(page: &Page) -> Vec<&str> {
        page.iter()
            .filter_map(|i| match i {
                Item::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_long_table_runs_onto_pages_each_with_its_header_and_nothing_below_the_margin() {
        let blocks = vec![
            Block::Title("沂源县 网络指标周报".into()),
            Block::Heading("I26 分站点 By site".into()),
            table(200),
        ];
        let pages = Layout::new(&advance).run(&blocks, "沂源县 2026-W47");
        assert!(pages.len() >= 3, "{} pages", pages.len());
        for (n, page) in pages.iter().enumerate() {
            let t = texts(page);
            assert!(t.contains(&"站点 site"), "page {n} lacks the header");
            assert!(
                t.last()
                    .unwrap()
                    .ends_with(&format!("第 {} / {} 页", n + 1, pages.len())),
                "{t:?}"
            );
            for item in &page[..page.len() - 1] {
                assert!(item.bottom() <= BOTTOM + 0.01, "page {n}: {item:?}");
            }
        }
        // Every row is there, once.
        let all: Vec<&str> = pages.iter().flat_map(texts).collect();
        for i in 0..200 {
            assert_eq!(
                all.iter().filter(|t| **t == i.to_string()).count(),
                1,
                "row {i}"
            );
        }
    }

    #[test]
    fn a_heading_is_never_the_last_thing_on_a_page() {
        // Fill the page until a heading lands near its foot, at every height.
        for filler in 0..60 {
            let mut blocks: Vec<Block> = (0..filler)
                .map(|i| Block::Para {
                    text: format!("第 {i} 行"),
                    ink: Ink::Text,
                })
                .collect();
            blocks.push(Block::Heading("图表 Charts".into()));
            blocks.push(Block::Figure {
                chart: 0,
                aspect: 0.56,
                caption: "I26 趋势".into(),
                note: None,
            });
            let pages = Layout::new(&advance).run(&blocks, "f");
            let page = pages
                .iter()
                .find(|p| texts(p).contains(&"图表 Charts"))
                .unwrap();
            assert!(
                page.iter().any(|i| matches!(i, Item::Chart { .. })),
                "filler {filler}: the heading is apart from its chart"
            );
        }
    }

    #[test]
    fn two_charts_share_a_page_and_none_is_cut() {
        let blocks: Vec<Block> = (0..5)
            .map(|i| Block::Figure {
                chart: i,
                aspect: 0.56,
                caption: format!("图 {i}"),
                note: Some("含模拟数据 100.0%，不代表真实网络".into()),
            })
            .collect();
        let pages = Layout::new(&advance).run(&blocks, "f");
        let charts: Vec<usize> = pages
            .iter()
            .map(|p| p.iter().filter(|i| matches!(i, Item::Chart { .. })).count())
            .collect();
        assert_eq!(charts, [2, 2, 1]);
        for page in &pages {
            for item in page {
                assert!(item.bottom() <= A4.1 - MARGIN + 8.0, "{item:?}");
            }
        }
    }
}
