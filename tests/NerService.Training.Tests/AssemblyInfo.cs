// Training draws from libtorch's process-wide random generator; a test creating a bundle in parallel would draw
// from it too and make seeded runs differ. These tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
