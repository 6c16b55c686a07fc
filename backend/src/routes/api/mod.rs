pub mod v1;

use crate::error::AppError;

/// Unknown paths under `/api` get a JSON 404, not an HTML page.
pub async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}
