pub mod form;
pub mod nav;
