/**
 * A generated OpenLDAP directory for tests and benches: the LDIF slapadd
 * loads, and the model of what it holds, so tests can check what a sync
 * read against what was written.
 *
 * Shape (defaults): 10,000 inetOrgPerson users spread over four OUs three
 * deep (people > engineering > platform, people > sales); 1,000 groups:
 * groupOfNames, groupOfUniqueNames every tenth (i % 10 == 8), posixGroup
 * every tenth (i % 10 == 9, members by uid); each group has ten users, and
 * group i contains group i+1 when i % 4 != 3 (chains 0→1→2→3, three deep),
 * group 3 contains group 0 (a cycle); the last group, `all-staff`, holds every
 * user. Every 97th user is locked (ppolicy's pwdAccountLockedTime). Group 5
 * names a DN that does not exist and group 9 a uid nobody has. entryUUIDs are
 * fixed so tests know them.
 */
import { baseLdif } from "../harness/slapd.ts";

/** An OU as written. */
export interface OrganizationModel {
  dn: string;
  uuid: string;
  name: string;
  parentUuid: string | null;
}

/** A user as written. */
export interface UserModel {
  dn: string;
  uuid: string;
  uid: string;
  cn: string;
  mail: string;
  displayName: string | null;
  organizationUuid: string;
  locked: boolean;
}

/** A group as written, with its direct members by entryUUID. */
export interface GroupModel {
  dn: string;
  uuid: string;
  cn: string;
  type: "groupOfNames" | "groupOfUniqueNames" | "posixGroup";
  members: { memberType: "identity" | "group"; externalId: string }[];
  /** Member values naming nothing. */
  unresolved: number;
}

/** The directory: its LDIF and its model. */
export interface DirectoryModel {
  suffix: string;
  ldif: string;
  organizations: OrganizationModel[];
  users: UserModel[];
  groups: GroupModel[];
}

const uuid = (kind: string, i: number) => `00000000-0000-4000-${kind}-${i.toString(16).padStart(12, "0")}`;

/** Generates the directory described in the module header. */
export function generateDirectory(
  options: { users?: number; groups?: number; suffix?: string } = {},
): DirectoryModel {
  const suffix = options.suffix ?? "dc=example,dc=org";
  const userCount = options.users ?? 10_000;
  const groupCount = options.groups ?? 1_000;
  const chunks: string[] = [baseLdif(suffix)];
  const entry = (lines: string[]) => chunks.push(lines.join("\n") + "\n\n");

  const ous: OrganizationModel[] = [];
  const ou = (name: string, parent: OrganizationModel | null) => {
    const model = {
      dn: `ou=${name},${parent ? parent.dn : suffix}`,
      uuid: uuid("a000", ous.length),
      name,
      parentUuid: parent?.uuid ?? null,
    };
    ous.push(model);
    entry([`dn: ${model.dn}`, "objectClass: organizationalUnit", `ou: ${name}`, `entryUUID: ${model.uuid}`]);
    return model;
  };
  const people = ou("people", null);
  const engineering = ou("engineering", people);
  const platform = ou("platform", engineering);
  const sales = ou("sales", people);
  const groupsOu = ou("groups", null);
  const homes = [people, engineering, platform, sales];

  const users: UserModel[] = [];
  for (let i = 0; i < userCount; i++) {
    const home = homes[i % homes.length]!;
    const uid = `user${String(i).padStart(5, "0")}`;
    const user: UserModel = {
      dn: `uid=${uid},${home.dn}`,
      uuid: uuid("8000", i),
      uid,
      cn: `User ${i}`,
      mail: `${uid}@example.org`,
      displayName: i % 2 === 0 ? `User Number ${i}` : null,
      organizationUuid: home.uuid,
      locked: i % 97 === 0,
    };
    users.push(user);
    entry([
      `dn: ${user.dn}`,
      "objectClass: inetOrgPerson",
      `uid: ${uid}`,
      `cn: ${user.cn}`,
      `sn: Number ${i}`,
      `mail: ${user.mail}`,
      ...(user.displayName ? [`displayName: ${user.displayName}`] : []),
      `employeeNumber: ${i}`,
      `entryUUID: ${user.uuid}`,
      ...(user.locked ? ["pwdAccountLockedTime: 000001010000Z"] : []),
    ]);
  }

  const groups: GroupModel[] = Array.from({ length: groupCount }, (_, i) => {
    const last = i === groupCount - 1;
    const cn = last ? "all-staff" : `group-${String(i).padStart(4, "0")}`;
    const type = last
      ? "groupOfNames"
      : i % 10 === 8
      ? "groupOfUniqueNames"
      : i % 10 === 9
      ? "posixGroup"
      : "groupOfNames";
    return { dn: `cn=${cn},${groupsOu.dn}`, uuid: uuid("9000", i), cn, type, members: [], unresolved: 0 };
  });
  groups.forEach((group, i) => {
    const memberUsers = i === groupCount - 1
      ? users
      : Array.from({ length: 10 }, (_, k) => users[(i * 10 + k) % userCount]!);
    const memberGroups: GroupModel[] = [];
    if (group.type !== "posixGroup" && i % 4 !== 3 && i + 1 < groupCount - 1) {
      memberGroups.push(groups[i + 1]!);
    }
    if (i === 3 && groupCount > 4) memberGroups.push(groups[0]!);
    const ghosts: string[] = [];
    if (i === 5) ghosts.push(`cn=ghost,${people.dn}`);
    if (i === 9 && group.type === "posixGroup") ghosts.push("nobody");
    group.members = [
      ...memberUsers.map((u) => ({ memberType: "identity" as const, externalId: u.uuid })),
      ...memberGroups.map((g) => ({ memberType: "group" as const, externalId: g.uuid })),
    ];
    group.unresolved = ghosts.length;
    const lines = [
      `dn: ${group.dn}`,
      `objectClass: ${group.type}`,
      `cn: ${group.cn}`,
      `entryUUID: ${group.uuid}`,
    ];
    if (group.type === "posixGroup") {
      lines.push(
        `gidNumber: ${10_000 + i}`,
        ...[...memberUsers.map((u) => u.uid), ...ghosts].map((uid) => `memberUid: ${uid}`),
      );
    } else {
      const attribute = group.type === "groupOfUniqueNames" ? "uniqueMember" : "member";
      const dns = [...memberUsers.map((u) => u.dn), ...memberGroups.map((g) => g.dn), ...ghosts];
      lines.push(...dns.map((dn, n) =>
        // One uniqueMember with the optional unique-identifier suffix of RFC 4517's NameAndOptionalUID.
        `${attribute}: ${dn}${attribute === "uniqueMember" && n === 0 ? "#'0101'B" : ""}`
      ));
    }
    entry(lines);
  });
  return { suffix, ldif: chunks.join(""), organizations: ous, users, groups };
}
