using System.CommandLine;
using NerService.Benchmarks;

var root = new RootCommand("NerService benchmarks: each prints the figures the README and the issues quote.");
root.Subcommands.Add(ModelBenchmark.Command());
root.Subcommands.Add(ProfileBenchmark.Command());
root.Subcommands.Add(ServiceBenchmark.Command());
root.Subcommands.Add(StorageBenchmark.Command());
root.Subcommands.Add(CudaCheck.Command());
root.Subcommands.Add(TextFidelity.Command());
return await root.Parse(args).InvokeAsync();
