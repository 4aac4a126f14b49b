package github

import (
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v62/github"
)

// GitHub's answers are decoded by go-github into structs of pointers, so an
// answer of the wrong shape (null, {}, an empty body, another repository)
// decodes without error into empty fields that would land as a row of
// NULLs. Each answer is checked here for the fields that identify it before
// anything of it is used; one that fails is an item error naming the
// request and what was wrong.

// shapeError is a 2xx answer that is not what the endpoint returns.
type shapeError struct {
	resp  *gh.Response // nil: where names the request
	where string
	msg   string
}

func (e *shapeError) Error() string {
	where := e.where
	if e.resp != nil && e.resp.Request != nil && e.resp.Request.URL != nil {
		where = e.resp.Request.Method + " " + e.resp.Request.URL.Path
	}
	status := ""
	if e.resp != nil {
		status = " " + e.resp.Status
	}
	return fmt.Sprintf("%s answered%s with an unexpected body: %s", where, status, e.msg)
}

// checkRepository checks a repository answer: an object with an id and the
// full_name asked for (GitHub compares names case-insensitively). A
// renamed or transferred repository is answered through a redirect under
// its new name: the seed should name it so.
func checkRepository(resp *gh.Response, repo *gh.Repository, owner, name string) error {
	where := "GET /repos/" + owner + "/" + name
	switch {
	case repo == nil || (repo.ID == nil && repo.FullName == nil):
		return &shapeError{resp: resp, where: where, msg: "not a repository (no id, no full_name): an empty answer, null or {}"}
	case repo.ID == nil || *repo.ID <= 0:
		return &shapeError{resp: resp, where: where, msg: "a repository without a valid id"}
	case repo.FullName == nil:
		return &shapeError{resp: resp, where: where, msg: "a repository without full_name"}
	case !strings.EqualFold(*repo.FullName, owner+"/"+name):
		return &shapeError{resp: resp, where: where, msg: fmt.Sprintf("the repository %s, not %s/%s (renamed or transferred? put %s in the seed)",
			*repo.FullName, owner, name, *repo.FullName)}
	}
	for _, c := range []struct {
		field string
		v     *int
	}{
		{"stargazers_count", repo.StargazersCount}, {"forks_count", repo.ForksCount},
		{"subscribers_count", repo.SubscribersCount}, {"open_issues_count", repo.OpenIssuesCount}, {"size", repo.Size},
	} {
		if c.v != nil && *c.v < 0 {
			return &shapeError{resp: resp, where: where, msg: fmt.Sprintf("a negative %s (%d)", c.field, *c.v)}
		}
	}
	return nil
}

// checkList checks a list answer: a JSON array (null or an empty body
// decode to a nil slice, [] to an empty one) whose entries have the field
// identifying them.
func checkList[T any](resp *gh.Response, list []*T, what string, valid func(*T) bool) error {
	if list == nil && resp != nil && resp.StatusCode == http.StatusOK {
		return &shapeError{resp: resp, msg: fmt.Sprintf("null or nothing, not a list of %s", what)}
	}
	for i, x := range list {
		if x == nil || !valid(x) {
			return &shapeError{resp: resp, msg: fmt.Sprintf("entry %d is not one of the %s", i, what)}
		}
	}
	return nil
}

// checkWeeks checks commit activity: a list of weeks, each with its date
// and no negative count.
func checkWeeks(resp *gh.Response, weeks []*gh.WeeklyCommitActivity) error {
	if weeks == nil && resp != nil && resp.StatusCode == http.StatusOK {
		return &shapeError{resp: resp, msg: "null or nothing, not a list of weeks"}
	}
	for i, w := range weeks {
		if w == nil || w.Week == nil {
			return &shapeError{resp: resp, msg: fmt.Sprintf("week %d has no date (week)", i)}
		}
		if w.Total != nil && *w.Total < 0 {
			return &shapeError{resp: resp, msg: fmt.Sprintf("week %d has a negative total (%d)", i, *w.Total)}
		}
		for _, d := range w.Days {
			if d < 0 {
				return &shapeError{resp: resp, msg: fmt.Sprintf("week %d has a negative day count (%d)", i, d)}
			}
		}
	}
	return nil
}
