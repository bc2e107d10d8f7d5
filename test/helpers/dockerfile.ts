/**
 * A small Dockerfile reader for tests: comments and parser directives dropped, `\` line
 * continuations joined, instructions grouped into stages by FROM. Exec-form arguments
 * (`["a", "b"]`) are parsed as JSON; shell form is split on whitespace for `words`.
 */
export interface Instruction {
  keyword: string;
  /** The text after the keyword, continuations joined. */
  args: string;
  /** Exec form as an array, shell form split on whitespace. */
  words: string[];
  /** `--name=value` flags in front of the arguments (COPY --from=build, HEALTHCHECK --interval=…). */
  flags: Record<string, string>;
  line: number;
}

export interface Stage {
  base: string;
  name?: string;
  instructions: Instruction[];
}

function words(args: string): string[] {
  const trimmed = args.trim();
  if (trimmed.startsWith('[')) {
    try {
      const v = JSON.parse(trimmed) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {
      /* not exec form after all */
    }
  }
  return trimmed.split(/\s+/).filter(Boolean);
}

function instruction(keyword: string, rest: string, line: number): Instruction {
  const flags: Record<string, string> = {};
  let args = rest.trim();
  for (
    let m = /^--([\w-]+)(?:=(\S*))?\s*/.exec(args);
    m && keyword !== 'RUN';
    m = /^--([\w-]+)(?:=(\S*))?\s*/.exec(args)
  ) {
    flags[m[1]!] = m[2] ?? '';
    args = args.slice(m[0].length);
  }
  // RUN --mount=… flags too, but never a `--flag` inside the command itself.
  if (keyword === 'RUN')
    for (
      let m = /^--(mount|network|security)=(\S*)\s*/.exec(args);
      m;
      m = /^--(mount|network|security)=(\S*)\s*/.exec(args)
    ) {
      flags[m[1]!] = m[2]!;
      args = args.slice(m[0].length);
    }
  return { keyword, args, words: words(args), flags, line };
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    // Continuations: a trailing backslash joins the next line; comment lines inside are skipped.
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      let next = lines[++i]!;
      while (/^\s*#/.test(next) && i + 1 < lines.length) next = lines[++i]!;
      line = line.replace(/\\\s*$/, ' ') + next;
    }
    const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot read "${line}"`);
    const ins = instruction(m[1]!.toUpperCase(), m[2]!, start);
    if (ins.keyword === 'FROM') {
      const [base, as, name] = ins.words;
      stages.push({ base: base!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
      continue;
    }
    if (!stages.length) {
      if (ins.keyword === 'ARG') continue; // global build args before the first FROM
      throw new Error(`Dockerfile line ${start}: ${ins.keyword} before FROM`);
    }
    stages.at(-1)!.instructions.push(ins);
  }
  return stages;
}

/** The last instruction of a kind in a stage (ENTRYPOINT, CMD, USER… : the last one wins). */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}
