//! The ModemManager backend: pure parsers of `mmcli -J` output ([`parse`]); running mmcli comes
//! later.

pub mod parse;
