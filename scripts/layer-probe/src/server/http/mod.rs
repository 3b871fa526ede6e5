pub mod api;
pub mod response;
