-- What each index costs PostgreSQL when a big report's rows are inserted
-- (docs/performance.md "Big reports, round 4").  Run on a database that
-- bench/big_report.py has filled (it holds a 90,000-test run's 360,000 points):
--
--   psql -h 127.0.0.1 -U postgres lntsite_bigreport -f bench/index_cost.sql
--
-- Every insert is rolled back; psql's \timing prints each statement's time.
\timing on
\echo '360,000 series, with the table as it is (three indexes)'
BEGIN;
INSERT INTO perf_series (id, machine_id, test_id, metric_id)
    SELECT 100000000 + g, 999999, g / 4, g % 4 FROM generate_series(1, 360000) g;
ROLLBACK;
\echo 'the same into a new table with its primary key only, then with no index'
BEGIN;
CREATE TABLE series_pkey_only (id bigint PRIMARY KEY, machine_id bigint, test_id bigint, metric_id bigint);
INSERT INTO series_pkey_only SELECT 100000000 + g, 999999, g / 4, g % 4 FROM generate_series(1, 360000) g;
ROLLBACK;
BEGIN;
CREATE TABLE series_no_index (id bigint, machine_id bigint, test_id bigint, metric_id bigint);
INSERT INTO series_no_index SELECT 100000000 + g, 999999, g / 4, g % 4 FROM generate_series(1, 360000) g;
ROLLBACK;
\echo 'the points of the first run again, with the table as it is, then without each index'
CREATE TEMP TABLE run_points AS
    SELECT * FROM perf_point WHERE run_id = (SELECT min(run_id) FROM perf_point);
SELECT count(*) AS points FROM run_points;
\set insert_points 'INSERT INTO perf_point (position, count, valid_count, value, mean, minimum, maximum, stdev, failed, hash, order_id, run_id, series_id, samples) SELECT position, count, valid_count, value, mean, minimum, maximum, stdev, failed, hash, order_id, run_id + 1000000, series_id, samples FROM run_points;'
BEGIN;
:insert_points
ROLLBACK;
BEGIN;
DROP INDEX point_run_series_uniq;
:insert_points
ROLLBACK;
BEGIN;
DROP INDEX point_series_position_idx;
:insert_points
ROLLBACK;
BEGIN;
DROP INDEX point_series_position_idx;
DROP INDEX point_run_series_uniq;
ALTER TABLE perf_point DROP CONSTRAINT perf_point_pkey;
:insert_points
ROLLBACK;
