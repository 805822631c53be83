//! Wire-compatible fake servers.
