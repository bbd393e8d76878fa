//! The AT-command backend: pure parsers of modem answers ([`parse`]); the serial I/O comes later.

pub mod parse;
