# A web tier: a load balancer that checks the servers' /health, the servers' firewall (web
# traffic from the load balancer only), an application firewall that only the web tier
# reaches, a launch template, an autoscaling group behind the load balancer with CPU target
# tracking, and two alarms: CPU above 80% on the group, 5xx answers from the servers.

variable "network" {
  description = "The network to place the tier in (a `network` block or the network module's `network` output)."
}

variable "subnets" {
  type = list(string)
}

variable "image" {
  type = string
}

variable "instance_type" {
  type    = string
  default = "t3.small"
}

variable "capacity" {
  type = number
}

variable "admin_cidr" {
  type    = string
  default = "10.20.0.0/16"
}

variable "rollout_bake" {
  type        = string
  default     = "2m"
  description = "How long each canary checkpoint is watched before the rollout widens."
}

variable "user_data" {
  type      = string
  default   = ""
  sensitive = true
}

firewall "lb" {
  network = var.network
  ingress {
    protocol = "tcp"
    ports    = 80
    from     = ["0.0.0.0/0"]
  }
  egress {
    protocol = "all"
    to       = ["0.0.0.0/0"]
  }
}

firewall "web" {
  network = var.network
  ingress {
    protocol = "tcp"
    ports    = 80
    from     = [firewall.lb]
  }
  ingress {
    protocol = "tcp"
    ports    = 443
    from     = ["0.0.0.0/0"]
  }
  ingress {
    protocol = "tcp"
    ports    = 22
    from     = [var.admin_cidr]
  }
  egress {
    protocol = "all"
    to       = ["0.0.0.0/0"]
  }
}

firewall "app" {
  network = var.network
  ingress {
    protocol = "tcp"
    ports    = "8080-8081"
    from     = [firewall.web]
  }
  egress {
    protocol = "all"
    to       = ["0.0.0.0/0"]
  }
}

launch_template "web" {
  image         = var.image
  instance_type = var.instance_type
  firewalls     = [firewall.web, firewall.app]
  user_data     = var.user_data
  http_tokens   = "required"
  volume {
    size_gb   = 20
    encrypted = true
  }
}

load_balancer "web" {
  network   = var.network
  subnets   = var.subnets
  firewalls = [firewall.lb]
  listener {
    port     = 80
    protocol = "HTTP"
  }
  health_check {
    path      = "/health"
    interval  = "15s"
    healthy   = 2
    unhealthy = 3
  }
}

autoscaling "web" {
  template      = launch_template.web
  subnets       = var.subnets
  load_balancer = load_balancer.web
  min           = 2
  max           = max(var.capacity * 2, 2)
  desired       = var.capacity
  scaling "cpu" {
    target_cpu = 70
  }
  # A new image reaches a tenth of the servers first, then half, then all, baking at each
  # step; 5xx answers from the servers roll it back.
  rollout {
    strategy    = "canary"
    checkpoints = [10, 50, 100]
    bake        = var.rollout_bake
    min_healthy = 90
    abort_on    = [alarm.web_5xx]
    timeout     = "5m"
  }
}

alarm "cpu_high" {
  autoscaling = autoscaling.web
  metric      = "CPUUtilization"
  statistic   = "Average"
  above       = 80
  periods     = 2
  period      = "5m"
}

alarm "web_5xx" {
  load_balancer = load_balancer.web
  metric        = "HTTPCode_Target_5XX_Count"
  statistic     = "Sum"
  above         = 10
  period        = "1m"
}

output "group_name" {
  value = autoscaling.web.name
}

output "web_firewall_id" {
  value = firewall.web.id
}

output "load_balancer" {
  value = load_balancer.web
}
