package async

import (
	"encoding/json"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// record is a job as kept in the job-state bucket, one key per job.
type record struct {
	ID       string           `json:"id"`
	Method   string           `json:"method"`
	State    pbv1.JobState    `json:"state"`
	Priority pbv1.JobPriority `json:"priority"`
	Identity string           `json:"identity,omitempty"`
	Claims   map[string]any   `json:"claims,omitempty"`
	Key      string           `json:"key"`
	Request  []byte           `json:"request,omitempty"`
	Attempts int32            `json:"attempts"`
	Created  time.Time        `json:"created"`
	Updated  time.Time        `json:"updated"`
	Finished time.Time        `json:"finished,omitzero"`
	Next     time.Time        `json:"next,omitzero"`
	// LeaseUntil is when a RUNNING job's runner, unless it renews the
	// lease, is presumed gone: until then no other worker starts the job.
	LeaseUntil time.Time         `json:"lease_until,omitzero"`
	Result     []byte            `json:"result,omitempty"`
	Err        *pbv1.JobError    `json:"error,omitempty"`
	Callback   *pbv1.JobCallback `json:"callback,omitempty"`
	Runner     string            `json:"runner,omitempty"`
}

func (r *record) encode() []byte {
	b, _ := json.Marshal(r) // every field is plain data
	return b
}

func decodeRecord(b []byte) (*record, error) {
	r := &record{}
	return r, json.Unmarshal(b, r)
}

// terminal says whether the job has reached a final state.
func terminal(s pbv1.JobState) bool {
	return s == pbv1.JobState_JOB_STATE_SUCCEEDED || s == pbv1.JobState_JOB_STATE_FAILED || s == pbv1.JobState_JOB_STATE_CANCELLED
}

// callbackDue says whether the finished job still owes its callback.
func (r *record) callbackDue(maxAttempts int) bool {
	return terminal(r.State) && r.Callback != nil && !r.Callback.Delivered && int(r.Callback.Attempts) < maxAttempts
}

// proto is the job as the API shows it; result decoding is the caller's.
func (r *record) proto() *pbv1.Job {
	ts := func(t time.Time) *timestamppb.Timestamp {
		if t.IsZero() {
			return nil
		}
		return timestamppb.New(t)
	}
	return &pbv1.Job{
		Id: r.ID, Method: r.Method, State: r.State, Priority: r.Priority, Identity: r.Identity,
		IdempotencyKey: r.Key, Attempts: r.Attempts, CreateTime: ts(r.Created), UpdateTime: ts(r.Updated),
		FinishTime: ts(r.Finished), NextAttemptTime: ts(r.Next), ResultBytes: r.Result, Error: r.Err, Callback: r.Callback, Runner: r.Runner,
	}
}
