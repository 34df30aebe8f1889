//! ecm-host (in progress).
