//! ecm-client (in progress).
