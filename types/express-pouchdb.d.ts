declare module 'express-pouchdb' {
  import type { RequestHandler } from 'express';
  interface ExpressPouchDBOptions {
    mode?: 'fullCouchDB' | 'minimumForPouchDB' | 'custom';
    inMemoryConfig?: boolean;
    logPath?: string;
    configPath?: string;
  }
  function expressPouchDB(PouchDB: unknown, opts?: ExpressPouchDBOptions): RequestHandler;
  export default expressPouchDB;
}
