//! The authorization extensions the MCP conformance suite tests: JWT-bearer grants for
//! workload identity and enterprise-managed authorization (ID-JAG), and DPoP.

pub mod dpop;
pub mod jwt_bearer;
