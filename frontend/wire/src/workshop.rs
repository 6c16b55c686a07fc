//! Wire types of workshop mode (`APP_WORKSHOP=1`): the challenge catalogue
//! with the caller's solves, the answer form, and the instructor's view.

use serde::{Deserialize, Serialize};

/// One challenge, with whether the caller has solved it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeInfo {
    pub id: String,
    pub title: String,
    pub category: String,
    /// 1 to 5.
    pub difficulty: u8,
    pub hint: String,
    /// The matching pattern page (`/patterns/…`).
    pub pattern: String,
    /// Solved by answering (`POST /api/v1/workshop/answer`), not by an attempt.
    pub answered: bool,
    /// RFC 3339, when the caller solved it.
    pub solved_at: Option<String>,
}

/// `GET /api/v1/workshop/challenges`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkshopChallenges {
    pub challenges: Vec<ChallengeInfo>,
    pub solved: usize,
    pub total: usize,
}

/// `POST /api/v1/workshop/answer`: an answer the server checks against its
/// own records (the request-id challenge).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkshopAnswer {
    /// The challenge answered: only `error-request-id` takes an answer.
    #[cfg_attr(feature = "openapi", schema(pattern = "^error-request-id$"))]
    pub challenge: String,
    pub answer: String,
}

/// The verdict on an answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkshopAnswerResult {
    pub challenge: String,
    pub correct: bool,
}

/// A challenge in the instructor's view, with how many solved it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeTotal {
    pub id: String,
    pub title: String,
    pub category: String,
    pub difficulty: u8,
    pub solved_by: usize,
}

/// One participant's progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParticipantProgress {
    pub user_id: String,
    pub username: String,
    /// The ids of the challenges solved.
    pub solved: Vec<String>,
}

/// `GET /api/v1/workshop/progress` (instructors: `admin:read`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkshopProgress {
    pub challenges: Vec<ChallengeTotal>,
    pub participants: Vec<ParticipantProgress>,
}

/// The banner every page shows while workshop mode is on.
pub const WORKSHOP_BANNER: &str = "Workshop mode: deliberately observable; not for production";
