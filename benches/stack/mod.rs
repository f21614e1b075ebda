//! The generated stack of 10,000 blocks the benchmarks share: one network, then groups of
//! firewall → launch template → autoscaling → volume, with each firewall admitting the
//! previous one so the graph has long chains as well as fan-in.

use std::fmt::Write as _;

pub const BLOCKS: usize = 10_000;

/// One network, then groups of firewall → launch template → autoscaling → volume, with each
/// firewall admitting the previous one so the graph has long chains as well as fan-in.
pub fn generate(dir: &std::path::Path) -> std::io::Result<usize> {
    let mut text = String::from(
        "stack \"bench\" {}\n\nenvironment \"load\" {\n  cloud = \"sim\"\n  region \"us-east-1\" {\n    zones = [\"us-east-1a\", \"us-east-1b\"]\n  }\n}\n\nnetwork \"main\" {\n  cidr = \"10.0.0.0/8\"\n  subnet \"public\" {\n    newbits = 8\n    public  = true\n  }\n}\n\n",
    );
    let mut blocks = 3;
    let mut group = 0;
    while blocks + 4 <= BLOCKS {
        let previous = if group == 0 {
            "\"10.0.0.0/8\"".to_string()
        } else {
            format!("firewall.f{}", group - 1)
        };
        let _ = write!(
            text,
            "firewall \"f{group}\" {{\n  network = network.main\n  ingress {{\n    protocol = \"tcp\"\n    ports    = {port}\n    from     = [{previous}]\n  }}\n}}\n\n\
launch_template \"t{group}\" {{\n  image         = \"ami-12c6146b\"\n  instance_type = \"t3.micro\"\n  firewalls     = [firewall.f{group}]\n}}\n\n\
autoscaling \"a{group}\" {{\n  template = launch_template.t{group}\n  subnets  = network.main.subnet.public\n  min      = 1\n  max      = 3\n}}\n\n\
volume \"v{group}\" {{\n  zone    = region.zones[{zone}]\n  size_gb = {size}\n}}\n\n",
            port = 1000 + group % 50_000,
            zone = group % 2,
            size = 10 + group % 100,
        );
        blocks += 4;
        group += 1;
        // Several files, as real stacks have.
        if group % 250 == 0 {
            std::fs::write(
                dir.join(format!("part{:03}.hcl", group / 250)),
                std::mem::take(&mut text),
            )?;
        }
    }
    text.push_str("output \"network_id\" {\n  value = network.main.id\n}\n");
    blocks += 1;
    std::fs::write(dir.join("rest.hcl"), text)?;
    Ok(blocks)
}
