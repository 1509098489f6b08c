import type { CAC } from "cac";

interface Section {
  title?: string;
  body: string;
}

const TOP_EXAMPLES = [
  "synchro sync ~/Documents /mnt/backup/Documents",
  "synchro sync ~/Documents /mnt/backup/Documents --dry-run",
  "synchro ~/Documents /mnt/backup/Documents --interval 300",
];

/**
 * Reshapes cac's help: cac shows the default (original-form) command's options as if they were
 * global, prints no command description, and leaves examples unindented. Every command's help
 * here has a description, its options with defaults, and examples in the `$ ` style.
 */
export function helpSections(cli: CAC, version: string): (sections: Section[]) => Section[] {
  return (sections) => {
    const cmd = cli.matchedCommand;
    const head: Section = { body: `synchro ${version}: a one-way folder mirror kept by a SQLite index` };
    if (!cmd || cmd.isDefaultCommand) return [head, ...topLevel(cli)];
    const rest = sections.filter((s) => s.title !== undefined && s.title !== "Usage");
    return [
      head,
      { title: "Usage", body: `  $ synchro ${cmd.rawName} [options]` },
      { body: `  ${cmd.description}` },
      ...rest.map(tidy),
    ];
  };
}

function topLevel(cli: CAC): Section[] {
  const commands = cli.commands.map((c) => ({ name: c.isDefaultCommand ? "<source> <replica>" : c.rawName, description: c.description }));
  const width = Math.max(...commands.map((c) => c.name.length));
  const named = cli.commands.filter((c) => !c.isDefaultCommand);
  return [
    { title: "Usage", body: "  $ synchro <command> [options]\n  $ synchro <source> <replica> [sync options]" },
    { title: "Commands", body: commands.map((c) => `  ${c.name.padEnd(width)}  ${c.description}`).join("\n") },
    { title: "For the options of a command, run", body: named.map((c) => `  $ synchro ${c.name} --help`).join("\n") },
    { title: "Options", body: "  -h, --help     Display this message\n  -V, --version  Display the version number" },
    { title: "Examples", body: TOP_EXAMPLES.map((e) => `  $ ${e}`).join("\n") },
  ];
}

function tidy(s: Section): Section {
  if (s.title === "Examples") return { ...s, body: s.body.split("\n").map((e) => `  $ ${e}`).join("\n") };
  return { ...s, body: s.body.split("\n").map((l) => l.trimEnd()).join("\n") };
}
