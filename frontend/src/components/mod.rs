pub mod action;
pub mod charts;
pub mod data_table;
pub mod demo_panel;
pub mod email_state;
pub mod form;
pub mod nav;
