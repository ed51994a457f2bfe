Console.WriteLine("NerService.Training: commands arrive with issue 3.");
