//! ecm-devnet (in progress).
