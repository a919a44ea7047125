-- Finished jobs are deleted after 30 days (src/store/retention.rs): find them by age.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state <> 'queued';
