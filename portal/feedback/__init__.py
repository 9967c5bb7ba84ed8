"""Citizens' complaints (phản ánh): intake, routing, the 48-hour clock, handling."""
