//! The bounds the API puts on what it reads, in one place: the authority's handlers refuse a
//! value outside them (400, naming the member and the bound) and `/openapi.json` states them
//! (the `#[schemars(...)]` attributes of the request types and [`super::tolerant::schema`]), so
//! the document and the checks cannot disagree.

/// Rows in a page of a list when the request names no `limit`.
pub const DEFAULT_PAGE_SIZE: u64 = 100;
/// The largest `limit` a list request may name.
pub const MAX_PAGE_SIZE: u64 = 1_000;
/// The largest `offset` a list request may name (rows are counted in an `i64`).
pub const MAX_OFFSET: u64 = i64::MAX as u64;

/// Longest name (of a virtual account, a reporting policy, an API client, a user), in
/// characters once trimmed; a name is not blank and holds no control characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest virtual account description, in characters once trimmed.
pub const MAX_VA_DESCRIPTION_CHARS: usize = 1_000;
/// Longest ID token description, in characters once trimmed.
pub const MAX_TOKEN_DESCRIPTION_CHARS: usize = 256;
/// Longest reason or note of a license move request, in characters once trimmed.
pub const MAX_NOTE_CHARS: usize = 1_000;

/// Days an ID token may be valid: 1 to this.
pub const MAX_TOKEN_DAYS: u64 = 365;
/// Uses an ID token may allow: 1 to this.
pub const MAX_TOKEN_USES: u64 = u32::MAX as u64;
/// Days of a reporting policy attribute (`first`, `ongoing`, `onChange`): 0 to this.
pub const MAX_POLICY_DAYS: u32 = 3_650;
/// Largest quantity of one license transfer or move request (quantities are `i64`).
pub const MAX_QUANTITY: u64 = i64::MAX as u64;
