//! ecm-verifier (in progress).
