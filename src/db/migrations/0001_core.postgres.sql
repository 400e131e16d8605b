-- postgres tier: nothing beyond the common part; partitions and rollups come with each family.
SELECT 1;
