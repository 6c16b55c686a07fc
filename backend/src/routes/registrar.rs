//! Route registration that keeps a list: every route is added through a
//! [`Registrar`], which records its method and full pattern. The list lets
//! `startup` refuse to start when a route has no policy entry, and lets a
//! test enumerate the routes.

use actix_web::{web, FromRequest, Handler, Responder};
use std::cell::RefCell;
use std::rc::Rc;

/// The routes registered so far: (method, full pattern).
#[derive(Clone, Default)]
pub struct Registered(Rc<RefCell<Vec<(&'static str, String)>>>);

impl Registered {
    pub fn list(&self) -> Vec<(&'static str, String)> {
        self.0.borrow().clone()
    }
}

/// Adds routes to a scope's `ServiceConfig` under `prefix`, recording each.
pub struct Registrar<'c> {
    cfg: &'c mut web::ServiceConfig,
    prefix: String,
    log: Registered,
}

impl<'c> Registrar<'c> {
    pub fn new(cfg: &'c mut web::ServiceConfig, prefix: &str, log: &Registered) -> Self {
        Self {
            cfg,
            prefix: prefix.to_owned(),
            log: log.clone(),
        }
    }

    fn add(&mut self, method: &'static str, path: &str, route: actix_web::Route) -> &mut Self {
        self.log
            .0
            .borrow_mut()
            .push((method, format!("{}{}", self.prefix, path)));
        self.cfg.route(path, route);
        self
    }

    pub fn get<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add("GET", path, web::get().to(handler))
    }

    pub fn post<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add("POST", path, web::post().to(handler))
    }

    pub fn put<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add("PUT", path, web::put().to(handler))
    }

    pub fn delete<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add("DELETE", path, web::delete().to(handler))
    }
}
