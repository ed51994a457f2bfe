using System.CommandLine;
using NerService.Benchmarks;

var root = new RootCommand("NerService benchmarks: each prints the figures the README and the issues quote.");
root.Subcommands.Add(ModelBenchmark.Command());
return root.Parse(args).Invoke();
