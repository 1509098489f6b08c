// node:sqlite is only loaded on Deno (Node 20 lacks it); @types/node 20 does not declare it.
declare module "node:sqlite" {
  export class DatabaseSync {
    constructor(path: string);
  }
}
