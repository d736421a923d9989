//! The Steward service.
