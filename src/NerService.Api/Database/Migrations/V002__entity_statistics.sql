-- Finer statistics for the columns entity filters compare. With the default target (100 histogram buckets) a
-- prefix such as 'place123%' falls inside one bucket and its selectivity is a guess; guessed too high, the
-- planner walks documents newest first hoping to meet matches soon instead of reading the few matching
-- entities through entities_text_lower. Ten times the buckets keeps the estimate close for rare prefixes
-- at the cost of a slower ANALYZE on this one table.
ALTER TABLE entities ALTER COLUMN text_lower SET STATISTICS 1000;
ALTER TABLE entities ALTER COLUMN text SET STATISTICS 1000;
