/** Whether a command can be started: an absolute or relative path that exists, else a name found on `pathVar`. */
import { existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export function commandExists(command: string, pathVar: string, cwd?: string): boolean {
  if (isAbsolute(command) || command.includes('/'))
    return existsSync(isAbsolute(command) ? command : join(cwd ?? process.cwd(), command));
  return pathVar.split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}
