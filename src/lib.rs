//! cseek: embedded code search.
//!
//! (Crate documentation is written in full once the API settles; see README.md.)
#![warn(missing_docs)]

pub mod chunk;
pub mod embed;
pub mod error;
pub mod eval;
pub mod index;
pub mod lang;
pub mod lexical;
pub mod search;
pub mod store;
pub mod walk;

pub use error::{Error, Result};
