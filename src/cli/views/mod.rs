//! Views: how each command's results look (text for people, JSON and SARIF for tools), apart
//! from the commands that produce them. One file per command group.

pub mod check;
