//! Who may start an evaluation, and whether it runs now: pure decisions over facts the caller
//! has looked up (roles, counts, the rate limit). The caller asks GitHub only for the facts a
//! decision needs, in the order the decisions come.

use std::time::Duration;

use crate::github::RateView;
use crate::jobs::Trigger;
use crate::repo_config::Permission;

/// A role on the hiring repository as a rank (0 for none), so that roles compare.
pub(crate) fn rank(role: &str) -> u8 {
    match role {
        "admin" => 5,
        "maintain" => 4,
        "write" | "push" => 3,
        "triage" => 2,
        "read" | "pull" => 1,
        _ => 0,
    }
}

/// The higher of GitHub's role name and its legacy permission.
pub(crate) fn role_rank(role_name: Option<&str>, permission: Option<&str>) -> u8 {
    rank(role_name.unwrap_or("")).max(rank(permission.unwrap_or("")))
}

pub(crate) fn at_least(role_rank: u8, min: Permission) -> bool {
    role_rank >= rank(min.as_str())
}

/// Bots (Folio included) never command Folio.
fn is_bot(login: &str, bot_login: &str) -> bool {
    login.eq_ignore_ascii_case(bot_login) || login.ends_with("[bot]")
}

/// After `/folio forget`, only a maintainer's refresh (a new consent) brings the issue back:
/// the login whose triage permission decides, or `None` when the issue stays withdrawn.
pub(crate) fn consent_asker(trigger: Trigger, actor: Option<&str>) -> Option<&str> {
    match actor {
        Some(a) if trigger == Trigger::Refresh && !a.ends_with("[bot]") => Some(a),
        _ => None,
    }
}

/// Whose refresh this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requester<'a> {
    /// Not a refresh: the issue was opened, edited or reopened.
    Issue,
    /// A refresh by nobody, or by a bot: nothing is done.
    Ignored,
    /// A refresh by this login, whose role decides.
    Person(&'a str),
}

pub(crate) fn requester<'a>(
    trigger: Trigger,
    actor: Option<&'a str>,
    bot_login: &str,
) -> Requester<'a> {
    if trigger != Trigger::Refresh {
        return Requester::Issue;
    }
    match actor {
        Some(a) if !is_bot(a, bot_login) => Requester::Person(a),
        _ => Requester::Ignored,
    }
}

/// What a refresh does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refresh {
    /// Not enough permission on the hiring repository: nothing happens.
    Refused,
    Accepted {
        /// Someone else's submission, not yet confirmed: the refresh is the confirmation,
        /// recorded for this candidate and these links.
        confirms: bool,
        /// Write permission or higher: the per-issue limit does not apply.
        exempt_from_issue_limit: bool,
    },
}

pub(crate) fn refresh(
    actor_rank: u8,
    min: Permission,
    confirmed: bool,
    author_is_candidate: bool,
) -> Refresh {
    if !at_least(actor_rank, min) {
        return Refresh::Refused;
    }
    Refresh::Accepted {
        confirms: !confirmed && !author_is_candidate,
        exempt_from_issue_limit: at_least(actor_rank, Permission::Write),
    }
}

/// Re-evaluations of one issue are limited whatever triggers them, so that closing and
/// reopening cannot loop.
pub(crate) fn over_issue_limit(evaluations_last_hour: i64, per_hour: u32, exempt: bool) -> bool {
    !exempt && evaluations_last_hour >= i64::from(per_hour)
}

/// The author's permission is asked only when it decides something: a submission for someone
/// else that nobody confirmed.
pub(crate) fn author_must_be_maintainer(author_is_candidate: bool, confirmed: bool) -> bool {
    !author_is_candidate && !confirmed
}

/// A submission's first evaluation counts against its author's daily limit, whether the
/// issue was opened as one or edited into one; a maintainer's refresh starts it anyway, and a
/// known maintainer is not limited.
pub(crate) fn daily_limit_applies(
    first: bool,
    trigger: Trigger,
    author_is_maintainer: Option<bool>,
) -> bool {
    first && trigger != Trigger::Refresh && author_is_maintainer != Some(true)
}

/// More first evaluations today than allowed (this one counted).
pub(crate) fn over_daily_limit(submissions_today: i64, per_day: u32) -> bool {
    submissions_today > i64::from(per_day)
}

/// Whether the evaluation starts now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    Go,
    /// Too little of the rate limit is left: the job waits for the reset, without spending
    /// an attempt.
    Defer(Duration),
}

/// `estimate` requests must fit in what is left and still leave GitHub's reserve.
pub(crate) fn budget(view: Option<RateView>, estimate: u64) -> Budget {
    match view.and_then(|v| v.wait_for(estimate + crate::github::RATE_RESERVE)) {
        Some(wait) => Budget::Defer(wait),
        None => Budget::Go,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_ranks() {
        assert!(rank("maintain") >= rank("triage"));
        assert!(rank("read") < rank("triage"));
        assert_eq!(rank("none"), 0);
        assert_eq!(role_rank(Some("maintain"), Some("write")), 4);
        assert_eq!(role_rank(None, Some("push")), 3);
        assert_eq!(role_rank(None, None), 0);
    }

    #[test]
    fn only_a_person_s_refresh_can_bring_a_withdrawn_issue_back() {
        assert_eq!(
            consent_asker(Trigger::Refresh, Some("recruiter")),
            Some("recruiter")
        );
        assert_eq!(consent_asker(Trigger::Refresh, Some("folio[bot]")), None);
        assert_eq!(consent_asker(Trigger::Refresh, None), None);
        assert_eq!(consent_asker(Trigger::Edited, Some("recruiter")), None);
    }

    #[test]
    fn bots_and_nobody_cannot_refresh() {
        let bot = "folio-app[bot]";
        assert_eq!(requester(Trigger::Opened, None, bot), Requester::Issue);
        assert_eq!(requester(Trigger::Refresh, None, bot), Requester::Ignored);
        assert_eq!(
            requester(Trigger::Refresh, Some("FOLIO-APP[bot]"), bot),
            Requester::Ignored
        );
        assert_eq!(
            requester(Trigger::Refresh, Some("dependabot[bot]"), bot),
            Requester::Ignored
        );
        assert_eq!(
            requester(Trigger::Refresh, Some("recruiter"), bot),
            Requester::Person("recruiter")
        );
    }

    #[test]
    fn a_refresh_needs_the_configured_role_and_confirms_someone_else_s_submission() {
        let (read, triage, write) = (rank("read"), rank("triage"), rank("write"));
        assert_eq!(
            refresh(read, Permission::Triage, false, false),
            Refresh::Refused
        );
        assert_eq!(
            refresh(triage, Permission::Triage, false, false),
            Refresh::Accepted {
                confirms: true,
                exempt_from_issue_limit: false
            }
        );
        // The candidate's own submission, or one already confirmed, needs no confirmation.
        assert_eq!(
            refresh(triage, Permission::Triage, false, true),
            Refresh::Accepted {
                confirms: false,
                exempt_from_issue_limit: false
            }
        );
        assert_eq!(
            refresh(write, Permission::Triage, true, false),
            Refresh::Accepted {
                confirms: false,
                exempt_from_issue_limit: true
            }
        );
        assert_eq!(
            refresh(triage, Permission::Write, false, false),
            Refresh::Refused
        );
    }

    #[test]
    fn limits() {
        assert!(!over_issue_limit(2, 3, false));
        assert!(over_issue_limit(3, 3, false));
        assert!(!over_issue_limit(30, 3, true));
        assert!(author_must_be_maintainer(false, false));
        assert!(!author_must_be_maintainer(true, false));
        assert!(!author_must_be_maintainer(false, true));
        assert!(daily_limit_applies(true, Trigger::Opened, None));
        assert!(daily_limit_applies(true, Trigger::Edited, Some(false)));
        assert!(!daily_limit_applies(true, Trigger::Opened, Some(true)));
        assert!(!daily_limit_applies(true, Trigger::Refresh, None));
        assert!(!daily_limit_applies(false, Trigger::Opened, None));
        assert!(!over_daily_limit(5, 5));
        assert!(over_daily_limit(6, 5));
    }

    #[test]
    fn an_evaluation_waits_for_the_reset_when_its_estimate_does_not_fit() {
        assert_eq!(budget(None, 500), Budget::Go);
        let view = |remaining, reset_in_secs| {
            Some(RateView {
                remaining,
                reset_in_secs,
            })
        };
        assert_eq!(budget(view(1000, 600), 500), Budget::Go);
        // The reserve is kept: 500 + 5 do not fit in 504.
        assert_eq!(
            budget(view(504, 600), 500),
            Budget::Defer(Duration::from_secs(601))
        );
        // A window that has already reset says nothing about now.
        assert_eq!(budget(view(0, 0), 500), Budget::Go);
    }
}
