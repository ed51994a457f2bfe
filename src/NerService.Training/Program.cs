using NerService.Training.Commands;

return TrainingCommands.Build().Parse(args).Invoke();
