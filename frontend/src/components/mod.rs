pub mod action;
pub mod charts;
pub mod form;
pub mod nav;
